import { describe, expect, it } from 'vitest';
import { coerce, fieldsFor, initialValues, type ParameterSpec } from './form';
import { parseDeclarations } from './declarations';

const specs: ParameterSpec[] = [
  { name: 'seed', type: 'INT', default: 7, help: 'random seed' },
  { name: 'lr', type: 'FLOAT', required: true },
  { name: 'optimizer', type: 'STR', choices: ['sgd', 'adam'], default: 'adam' },
  { name: 'size', type: 'INT', choices: [320, 640] },
  { name: 'augment', type: 'BOOL', switch: true },
  { name: 'pretrained', type: 'BOOL', default: true },
  { name: 'run-name', type: 'STR' },
];

describe('fieldsFor', () => {
  it('picks an input per type: checkbox for BOOL and switches, select for choices, numbers for INT/FLOAT', () => {
    expect(fieldsFor(specs).map((field) => [field.name, field.kind])).toEqual([
      ['seed', 'integer'],
      ['lr', 'number'],
      ['optimizer', 'select'],
      ['size', 'select'],
      ['augment', 'checkbox'],
      ['pretrained', 'checkbox'],
      ['run-name', 'text'],
    ]);
  });

  it('marks required ones, keeps help as the description, lists choices as text', () => {
    const [seed, lr, optimizer, size] = fieldsFor(specs);
    expect(seed).toMatchObject({ required: false, help: 'random seed' });
    expect(lr).toMatchObject({ required: true, help: undefined });
    expect(optimizer!.options).toEqual(['sgd', 'adam']);
    expect(size!.options).toEqual(['320', '640']);
  });
});

describe('initialValues', () => {
  it('prefills defaults as inputs hold them', () => {
    expect(initialValues(specs)).toEqual({
      seed: '7',
      lr: '',
      optimizer: '1',
      size: '',
      augment: false,
      pretrained: true,
      'run-name': '',
    });
  });
});

describe('coerce', () => {
  it('sends numbers as numbers, booleans as booleans and the declared choice value', () => {
    const values = { ...initialValues(specs), lr: '0.01', size: '1', augment: true, 'run-name': ' first run' };
    expect(coerce(specs, values)).toEqual({
      ok: true,
      value: { seed: 7, lr: 0.01, optimizer: 'adam', size: 640, augment: true, pretrained: true, 'run-name': ' first run' },
    });
  });

  it('leaves out empty optional inputs so the trainer default applies', () => {
    const result = coerce(specs, { ...initialValues(specs), seed: '  ', lr: '1' });
    expect(result.ok && result.value).not.toHaveProperty('seed');
    expect(result.ok && result.value).not.toHaveProperty('size');
  });

  it('reports every problem in words, keyed by parameter', () => {
    const result = coerce(specs, { ...initialValues(specs), seed: '1.5', lr: '' });
    expect(result).toEqual({ ok: false, errors: { seed: 'seed must be a whole number.', lr: 'lr is required.' } });
    expect(coerce([{ name: 'lr', type: 'FLOAT' }], { lr: 'fast' })).toEqual({ ok: false, errors: { lr: 'lr must be a number.' } });
    expect(coerce([{ name: 'n', type: 'INT' }], { n: '99999999999999999999' })).toEqual({ ok: false, errors: { n: 'n must be a whole number.' } });
  });

  it('accepts negative and signed integers and scientific floats', () => {
    expect(
      coerce(
        [
          { name: 'a', type: 'INT' },
          { name: 'b', type: 'FLOAT' },
        ],
        { a: '-3', b: '1e-3' },
      ),
    ).toEqual({ ok: true, value: { a: -3, b: 0.001 } });
  });
});

describe('parseDeclarations', () => {
  it('reads the reference trainer declarations', () => {
    const parsed = parseDeclarations('[{"name":"seed","type":"INT","default":7,"help":"random seed"},{"name":"sleep-ms-per-epoch","type":"INT","default":0}]');
    expect(parsed).toEqual({
      ok: true,
      value: [
        { name: 'seed', type: 'INT', default: 7, required: false, help: 'random seed', choices: [], switch: false },
        { name: 'sleep-ms-per-epoch', type: 'INT', default: 0, required: false, help: null, choices: [], switch: false },
      ],
    });
  });

  it('says what is wrong', () => {
    expect(parseDeclarations('{')).toMatchObject({ ok: false });
    expect(parseDeclarations('{}')).toEqual({ ok: false, error: expect.stringContaining('array') });
    expect(parseDeclarations('[{"type":"INT"}]')).toEqual({ ok: false, error: 'Entry 1 needs a "name".' });
    expect(parseDeclarations('[{"name":"a","type":"LIST"}]')).toEqual({ ok: false, error: expect.stringContaining('"type" must be one of') });
    expect(parseDeclarations('[{"name":"a","type":"INT","switch":true}]')).toEqual({ ok: false, error: '"a": only a BOOL can be a switch.' });
    expect(parseDeclarations('[{"name":"a","type":"INT"},{"name":"a","type":"INT"}]')).toEqual({ ok: false, error: '"a" is declared twice.' });
    expect(parseDeclarations('[{"name":"a","type":"INT","defualt":1}]')).toEqual({ ok: false, error: 'Entry 1 has unknown keys: defualt.' });
  });
});
