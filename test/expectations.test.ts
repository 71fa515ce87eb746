import { claim } from '../helpers/framework/expectations.ts';

describe('claim', () => {
  it('passes silently when the check holds, without wording the failure', () => {
    let worded = 0;
    expect(() =>
      claim(true, () => {
        worded++;
        return 'never read';
      }),
    ).not.toThrow();
    expect(worded).toBe(0);
  });

  it('fails with exactly the sentence, given or worded on failure', () => {
    const status: number = 200;
    const sentence = `the htpasswd registry reg:5000 must refuse a wrong password with 401, but GET /v2/ answered ${status}`;
    expect(() => claim(status === 401, sentence)).toThrow(new Error(sentence));
    expect(() => claim(status === 401, () => sentence)).toThrow(new Error(sentence));
  });

  it('narrows like an assertion', () => {
    const value: string | undefined = ['x'].find((v) => v === 'x');
    claim(value !== undefined, 'test setup: the value is there');
    expect(value.length).toBe(1);
  });
});
