import type { TaskType } from './gql/graphql';

/** In the order the importer tries them. */
export const TASK_TYPES: TaskType[] = ['CLASSIFICATION', 'DETECTION', 'SEGMENTATION', 'POSE'];
