import { describe, expect, it, afterEach } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { useState } from 'react';
import { ParameterFields } from './ParameterFields';
import { coerce, initialValues, type FormValues, type ParameterSpec } from './form';

const specs: ParameterSpec[] = [
  { name: 'seed', type: 'INT', default: 7, help: 'random seed' },
  { name: 'optimizer', type: 'STR', choices: ['sgd', 'adam'], required: true },
  { name: 'augment', type: 'BOOL', switch: true },
];

let submitted: ReturnType<typeof coerce> | null = null;

function Harness() {
  const [values, setValues] = useState<FormValues>(() => initialValues(specs));
  const result = coerce(specs, values);
  submitted = result;
  return (
    <ParameterFields
      specs={specs}
      values={values}
      errors={result.ok ? {} : result.errors}
      onChange={(name, value) => setValues((v) => ({ ...v, [name]: value }))}
    />
  );
}

afterEach(cleanup);

describe('ParameterFields', () => {
  it('renders labelled inputs with defaults, descriptions and required marks', () => {
    render(<Harness />);
    const seed = screen.getByLabelText('seed') as HTMLInputElement;
    expect(seed.type).toBe('number');
    expect(seed.value).toBe('7');
    expect(seed.getAttribute('aria-describedby')).toBeTruthy();
    expect(screen.getByText('random seed').id).toBe(seed.getAttribute('aria-describedby'));
    expect(screen.getByLabelText(/optimizer/).tagName).toBe('SELECT');
    expect(screen.getByText('(required)')).toBeTruthy();
    expect((screen.getByLabelText('augment') as HTMLInputElement).type).toBe('checkbox');
  });

  it('shows the validation message on its input and produces typed JSON', () => {
    render(<Harness />);
    const optimizer = screen.getByLabelText(/optimizer/);
    expect(optimizer.getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByText('optimizer is required.')).toBeTruthy();
    fireEvent.change(optimizer, { target: { value: '0' } });
    fireEvent.click(screen.getByLabelText('augment'));
    fireEvent.change(screen.getByLabelText('seed'), { target: { value: '42' } });
    expect(submitted).toEqual({ ok: true, value: { seed: 42, optimizer: 'sgd', augment: true } });
    expect(screen.getByLabelText(/optimizer/).getAttribute('aria-invalid')).toBeNull();
  });
});
