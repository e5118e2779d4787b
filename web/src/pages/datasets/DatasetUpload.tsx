import { useState } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../../gql';
import { describeErrors, type ShownError } from '../../graphql/errors';
import { FormErrors } from '../../components/FormErrors';
import { FilePicker } from '../../upload/FilePicker';
import { UploadProgress } from '../../upload/UploadProgress';
import { putFile, UploadError, type Progress } from '../../upload/putFile';

const CreateDatasetUploadDocument = graphql(`
  mutation CreateDatasetUpload($datasetId: ID!, $filename: String!, $sizeBytes: Int!) {
    createDatasetUpload(datasetId: $datasetId, filename: $filename, sizeBytes: $sizeBytes) {
      uploadUrl
      upload {
        id
      }
    }
  }
`);

const CompleteDatasetUploadDocument = graphql(`
  mutation CompleteDatasetUpload($uploadId: ID!) {
    completeDatasetUpload(uploadId: $uploadId) {
      id
      status
    }
  }
`);

/** A zip to the signed URL (with progress), then the import is queued. */
export function DatasetUpload({ datasetId, onQueued }: { datasetId: string; onQueued: () => void }) {
  const [, createUpload] = useMutation(CreateDatasetUploadDocument);
  const [, completeUpload] = useMutation(CompleteDatasetUploadDocument);
  const [current, setCurrent] = useState<{ name: string; progress: Progress } | null>(null);
  const [errors, setErrors] = useState<ShownError[]>([]);

  const upload = async (file: File) => {
    setErrors([]);
    setCurrent({ name: file.name, progress: { loaded: 0, total: file.size } });
    try {
      const created = await createUpload({ datasetId, filename: file.name, sizeBytes: file.size });
      if (!created.data) return setErrors(describeErrors(created.error));
      const { uploadUrl, upload } = created.data.createDatasetUpload;
      await putFile(uploadUrl, file, (progress) => setCurrent({ name: file.name, progress }));
      const completed = await completeUpload({ uploadId: upload.id });
      if (!completed.data) return setErrors(describeErrors(completed.error));
      onQueued();
    } catch (error) {
      setErrors([{ message: error instanceof UploadError ? error.message : 'The upload failed. Try again.' }]);
    } finally {
      setCurrent(null);
    }
  };

  return (
    <div>
      <FilePicker label="Dataset archive (zip)" accept=".zip,application/zip" disabled={current !== null} onFile={upload} />
      <p className="muted">DICE, COCO, YOLO or ImageFolder layouts, recognised by their files.</p>
      {current && <UploadProgress name={current.name} progress={current.progress} />}
      <FormErrors errors={errors} />
    </div>
  );
}
