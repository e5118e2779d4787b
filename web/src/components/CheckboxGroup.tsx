import { useId } from 'react';
import { humanize } from '../format';

/** A fieldset of checkboxes choosing several values of an enum. */
export function CheckboxGroup<T extends string>({
  legend,
  options,
  selected,
  onChange,
  error,
  labelOf = humanize,
}: {
  legend: string;
  options: T[];
  selected: T[];
  onChange: (selected: T[]) => void;
  error?: string;
  labelOf?: (option: T) => string;
}) {
  const errorId = useId();
  return (
    <fieldset aria-describedby={error ? errorId : undefined}>
      <legend>{legend}</legend>
      {options.map((option) => (
        <label key={option} className="checkbox">
          <input
            type="checkbox"
            checked={selected.includes(option)}
            onChange={(event) => onChange(event.target.checked ? [...selected, option] : selected.filter((value) => value !== option))}
          />{' '}
          {labelOf(option)}
        </label>
      ))}
      {error && (
        <p className="field-error" id={errorId}>
          {error}
        </p>
      )}
    </fieldset>
  );
}
