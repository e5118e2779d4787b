import { useState } from 'react';
import { useNavigate } from 'react-router';
import { useMutation } from 'urql';
import { graphql } from '../../gql';
import { ORGANIZATION_LIST } from '../../layout/ConsoleLayout';
import { describeErrors, type ShownError } from '../../graphql/errors';
import { TextField } from '../../components/Field';
import { FormErrors } from '../../components/FormErrors';
import { Page } from '../../components/Page';

const CreateOrganizationDocument = graphql(`
  mutation CreateOrganization($input: CreateOrganizationInput!) {
    createOrganization(input: $input) {
      id
      name
      slug
      viewerRole
    }
  }
`);

/** The server's slug rule: lowercase letters and digits, single dashes between. */
export function slugify(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
}

export default function NewOrganization() {
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [slugEdited, setSlugEdited] = useState(false);
  const [errors, setErrors] = useState<ShownError[]>([]);
  const [{ fetching }, create] = useMutation(CreateOrganizationDocument);

  return (
    <Page title="New organization">
      <form
        className="card narrow"
        onSubmit={async (event) => {
          event.preventDefault();
          const result = await create({ input: { name, slug } }, ORGANIZATION_LIST);
          if (!result.data) return setErrors(describeErrors(result.error));
          navigate(`/o/${result.data.createOrganization.slug}`);
        }}
      >
        <p>Organizations hold projects, datasets, trainers and members. You become its owner.</p>
        <TextField
          label="Name"
          name="name"
          required
          value={name}
          onChange={(value) => {
            setName(value);
            if (!slugEdited) setSlug(slugify(value));
          }}
          errors={errors}
        />
        <TextField
          label="Slug"
          name="slug"
          required
          value={slug}
          onChange={(value) => {
            setSlugEdited(true);
            setSlug(value);
          }}
          errors={errors}
          description="Used in addresses: 2 to 40 characters a-z, 0-9 and single dashes."
        />
        <FormErrors errors={errors} fields={['name', 'slug']} />
        <button type="submit" className="primary" disabled={fetching}>
          Create organization
        </button>
      </form>
    </Page>
  );
}
