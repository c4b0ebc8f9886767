// `image import --change` (podman's and docker's -c): Dockerfile
// instructions give a rootfs tarball's image the config it lacks, and `run`
// follows it; a bad instruction, or one for an archive that has a config of
// its own, is refused in one line with nothing stored.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBusyboxTarball } from './helpers/busybox.js';
import { writeDockerSave } from './helpers/archives.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { isOneLineRefusal } from './helpers/cli-process.js';
import { nsbox, nsboxOk, removeAllPods } from './helpers/nsbox.js';

let root: string;
let tarball: string;

beforeAll(async () => {
  root = tempRoot();
  tarball = await makeBusyboxTarball(root);
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

const ok = (args: string[]) => nsboxOk(root, args);
const config = (ref: string) => (JSON.parse(ok(['image', 'inspect', ref])) as { Config: Record<string, unknown> }).Config;
/** Image records and layers in the store. */
const stored = () => `${readdirSync(join(root, 'images')).filter((f) => /^[0-9a-f]{64}\.json$/.test(f)).length} images, ${readdirSync(join(root, 'images', 'layers')).length} layers`;

describe(`image import --change (${testMode})`, () => {
  it('CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL and STOPSIGNAL set the config, and run follows it', () => {
    ok([
      'image', 'import', tarball, '--name', 'web:changed',
      '--change', 'CMD ["-c", "echo \\"$GREETING from $(pwd) as $(id -u)\\""]',
      '-c', 'ENTRYPOINT=["/bin/sh"]',
      '-c', 'ENV GREETING=hello OTHER="two words"',
      '-c', 'WORKDIR /srv',
      '-c', 'USER www-data',
      '-c', 'EXPOSE 80 53/udp',
      '-c', 'LABEL app=web',
      '-c', 'STOPSIGNAL SIGQUIT',
    ]);
    const c = config('web:changed');
    expect(c.Entrypoint).toEqual(['/bin/sh']);
    expect(c.Cmd).toEqual(['-c', 'echo "$GREETING from $(pwd) as $(id -u)"']);
    expect(c.Env).toEqual(expect.arrayContaining(['GREETING=hello', 'OTHER=two words']));
    expect(c.WorkingDir).toBe('/srv');
    expect(c.User).toBe('www-data');
    expect(Object.keys(c.ExposedPorts as object).sort()).toEqual(['53/udp', '80/tcp']);
    expect(c.Labels).toEqual({ app: 'web' });
    expect(c.StopSignal).toBe('SIGQUIT');
    ok(['pod', 'create', '--name', 'chg']);
    ok(['run', '--pod', 'chg', '--name', 'greet', 'web:changed']);
    expect(ok(['logs', 'chg/greet'])).toBe('hello from /srv as 33\n');
    // The shell form runs through /bin/sh -c; the image without changes (the control) keeps /bin/sh.
    ok(['image', 'import', tarball, '--name', 'web:shell', '--change', 'CMD echo shell form in $(pwd)']);
    expect(config('web:shell').Cmd).toEqual(['/bin/sh', '-c', 'echo shell form in $(pwd)']);
    ok(['run', '--pod', 'chg', '--name', 'shell', 'web:shell']);
    expect(ok(['logs', 'chg/shell'])).toBe('shell form in /\n');
    ok(['image', 'import', tarball, '--name', 'web:plain']);
    expect(config('web:plain').Cmd).toEqual(['/bin/sh']);
    expect(config('web:plain').Entrypoint ?? null).toBeNull();
  });

  it('a bad instruction is refused in one line, naming it, with nothing stored', () => {
    const before = stored();
    expect(before).toMatch(/^[1-9]\d* images, [1-9]\d* layers$/);
    for (const [change, why] of [
      ['RUN echo hi', /RUN is not an instruction import can apply/],
      ['CMD ["unclosed"', /the exec form is not a JSON array/],
      ['EXPOSE eighty', /"eighty" is not a port/],
      ['WORKDIR relative', /WORKDIR must be an absolute path/],
      ['CMD', /it is not INSTRUCTION VALUE/],
    ] as const) {
      const r = nsbox(root, ['image', 'import', tarball, '--name', 'bad:1', '--change', change]);
      expect(isOneLineRefusal(r), `${change}: ${r.stderr}`).toBe(true);
      expect(r.stderr).toMatch(why);
    }
    expect(stored()).toBe(before);
    expect(nsbox(root, ['image', 'inspect', 'bad:1']).code).not.toBe(0);
  });

  it('an archive with a config of its own refuses --change (its config stays its own)', () => {
    const file = writeDockerSave(join(root, 'app.tar'), [
      { layers: [{ entries: [{ path: 'bin/', type: 'dir', mode: 0o755 }, { path: 'bin/busybox', content: readFileSync('/bin/busybox'), mode: 0o755 }] }], config: { Cmd: ['/bin/busybox', 'true'] }, repoTags: ['example/app:1.0'] },
    ]);
    const r = nsbox(root, ['image', 'import', file, '--change', 'CMD ["/bin/busybox", "false"]']);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/is an image archive with a config of its own: --change applies to a rootfs tarball/);
    expect(nsbox(root, ['image', 'inspect', 'example/app:1.0']).code).not.toBe(0);
    ok(['image', 'import', file]); // control: the same archive without --change
    expect(config('example/app:1.0').Cmd).toEqual(['/bin/busybox', 'true']);
  });
});
