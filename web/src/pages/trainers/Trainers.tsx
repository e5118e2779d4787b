import { useQuery } from 'urql';
import { graphql } from '../../gql';
import { useCan, useOrg } from '../../layout/OrgLayout';
import { describeErrors } from '../../graphql/errors';
import { FormErrors } from '../../components/FormErrors';
import { Page } from '../../components/Page';
import { Loading } from '../../components/Status';
import { formatDate, humanize } from '../../format';
import { RegisterTrainer } from './RegisterTrainer';

export const TrainersDocument = graphql(`
  query Trainers($orgId: ID!) {
    trainers(orgId: $orgId, first: 100) {
      nodes {
        id
        name
        taskTypes
        versions {
          id
          version
          image
          status
          runtime
          framework
          taskTypes
          exportFormats
          createdAt
          hyperparameters {
            name
            type
            default
            required
            help
            choices
            switch
          }
        }
      }
    }
  }
`);

export const TRAINER_LIST = { additionalTypenames: ['Trainer', 'TrainerVersion'] };

/** The organization's own trainers and their versions (the marketplace is its own screen). */
export default function Trainers() {
  const org = useOrg();
  const isAdmin = useCan('ADMIN');
  const [{ data, error }] = useQuery({ query: TrainersDocument, variables: { orgId: org.id }, context: TRAINER_LIST });
  const trainers = data?.trainers.nodes;
  return (
    <Page title="Trainers">
      <FormErrors errors={describeErrors(error)} />
      {!trainers ? (
        <Loading what="trainers" />
      ) : trainers.length === 0 ? (
        <p>This organization has no trainers yet.</p>
      ) : (
        trainers.map((trainer) => (
          <section key={trainer.id} className="card" aria-labelledby={`trainer-${trainer.id}`}>
            <h2 id={`trainer-${trainer.id}`}>{trainer.name}</h2>
            <table>
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col">Status</th>
                  <th scope="col">Image</th>
                  <th scope="col">Task types</th>
                  <th scope="col">Exports</th>
                  <th scope="col">Hyperparameters</th>
                  <th scope="col">Registered</th>
                </tr>
              </thead>
              <tbody>
                {trainer.versions.map((version) => (
                  <tr key={version.id}>
                    <td>v{version.version}</td>
                    <td>{humanize(version.status)}</td>
                    <td>
                      <code>{version.image}</code>
                    </td>
                    <td>{version.taskTypes.map(humanize).join(', ')}</td>
                    <td>{version.exportFormats.join(', ') || '—'}</td>
                    <td>{version.hyperparameters.map((parameter) => parameter.name).join(', ') || '—'}</td>
                    <td>{formatDate(version.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        ))
      )}
      {isAdmin && <RegisterTrainer orgId={org.id} />}
    </Page>
  );
}
