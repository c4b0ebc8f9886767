// The mutations scripts/mutation-check.mjs applies, one property each: what
// it breaks (edits: text found exactly once in a file, replaced), and the
// tests that must then fail (files, and a name filter for vitest -t).

export const MUTATIONS = [
  {
    name: 'pause-unpivoted',
    why: "the pause keeps the host's root (no pivot into its empty tmpfs)",
    edits: [
      { file: 'src/pod/plans.ts', find: "    { op: 'pivotRoot', path: PAUSE_ROOT, putOld: '' },\n", replace: "    { op: 'chdir', path: '/' },\n" },
      { file: 'src/pod/plans.ts', find: "    { op: 'exec', file: '/pause', argv: ['/pause'], env: [], path: '' },", replace: "    { op: 'exec', file: `${PAUSE_ROOT}/pause`, argv: ['/pause'], env: [], path: '' }," },
      { file: 'src/pod/plans.ts', find: "    mountStep('', '/', '', MS.REMOUNT | MS.BIND | MS.RDONLY | MS.NOSUID | MS.NODEV),\n    { op: 'chdir', path: '/' },\n    { op: 'setsid' },", replace: "    { op: 'chdir', path: '/' },\n    { op: 'setsid' }," },
    ],
    tests: ['test/escapes-workdir.test.ts'],
    grep: 'pause',
  },
  {
    name: 'setup-follows-host-links',
    why: 'setup paths resolve as on the host (image symlinks and /proc links followed)',
    edits: [{ file: 'native-shims/shim/paths.c', find: '  if (scope == SCOPE_HOST) {\n    int fd =', replace: '  if (1) {\n    int fd =' }],
    tests: ['test/escapes-setup.test.ts', 'test/escapes-workdir.test.ts', 'test/container-hostile-image.test.ts'],
  },
  {
    name: 'masks-readonly-dropped',
    why: '/proc/sys, /proc/sysrq-trigger and the other read-only paths stay writable',
    edits: [
      {
        file: 'src/container/plans.ts',
        find: "    steps.push(mountIn(p, p, '', MS.BIND | MS.REC), mountIn('', p, '', MS.REMOUNT | MS.BIND | MS.REC | MS.RDONLY | frozen));",
        replace: '    void p;',
      },
    ],
    tests: ['test/isolation.test.ts'],
    grep: 'masked or read-only',
  },
  {
    name: 'exec-sees-host',
    why: 'an exec of a host program keeps the whole host view (no pivot into the system view)',
    edits: [
      {
        file: 'src/pod/plans.ts',
        find: "    { op: 'pivotRoot', path: VIEW, putOld: '' },\n    mountStep('', '/', '', MS.REMOUNT | MS.BIND | MS.RDONLY | MS.NOSUID | MS.NODEV),\n",
        replace: '',
      },
    ],
    tests: ['test/exec-view.test.ts'],
    grep: 'system directories',
  },
  {
    name: 'exec-view-unlocked',
    why: "as root, the exec's system view is built inside the pod, where ALL capabilities can remount it writable",
    edits: [{ file: 'src/cli/exec-run.ts', find: "lockedView: record.mapping === 'root'", replace: 'lockedView: false' }],
    tests: ['test/exec-view.test.ts'],
    grep: 'every capability',
  },
  {
    name: 'exec-gets-caller-fds',
    why: "exec hands the command the CLI's own stdin/stdout/stderr",
    edits: [{ file: 'src/cli/exec-run.ts', find: '{ fds: relay!.childFds }', replace: '{ fds: [opts.interactive ? 0 : -1, 1, 2] }' }],
    tests: ['test/escapes-exec.test.ts'],
  },
  {
    name: 'exec-same-session',
    why: "exec leaves the command in the caller's session",
    edits: [{ file: 'src/pod/plans.ts', find: "  return [{ op: 'setsid' }, ...('terminalSocket' in stdio", replace: "  return [...('terminalSocket' in stdio" }],
    tests: ['test/escapes-exec.test.ts'],
  },
  {
    name: 'leftovers-survive',
    why: "a container's orphans outlive it (no kill by mount namespace)",
    edits: [{ file: 'src/container/manager.ts', find: '      if (live.mountNs) await killMountNamespace(live.mountNs);\n', replace: '' }],
    tests: ['test/escapes-process-tree.test.ts'],
  },
  {
    name: 'ids-unchecked',
    why: 'unmapped ids (4294967295 among them) are not refused',
    edits: [
      { file: 'src/container/manager.ts', find: '    requireMappedIds(req.user, this.pod.pause.pid, this.pod.name);\n', replace: '' },
      { file: 'src/container/spec.ts', find: '  if (uid > MAX_ID || gid > MAX_ID) throw', replace: '  if (false) throw' },
    ],
    tests: ['test/escapes-ids.test.ts'],
  },
  {
    name: 'user-lookup-follows-links',
    why: "--user NAME reads the image's /etc/passwd following symlinks on the host",
    edits: [
      { file: 'native-shims/shim/sys.c', find: '  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;', replace: '  how.resolve = 0;' },
      { file: 'native-shims/shim/sys.c', find: '  how.flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK', replace: '  how.flags = O_RDONLY | O_NONBLOCK' },
    ],
    tests: ['test/escapes-user-lookup.test.ts'],
  },
  {
    name: 'cap-drop-before-add-all',
    why: '--cap-add ALL --cap-drop NET_RAW keeps NET_RAW',
    edits: [{ file: 'src/container/capabilities.ts', find: '  for (const c of drops) set.delete(c);\n', replace: '  if (!adds.includes("ALL")) for (const c of drops) set.delete(c);\n' }],
    tests: ['test/escapes-ids.test.ts'],
  },
  {
    name: 'ps-shows-env',
    why: "ps --format json prints the containers' environment",
    edits: [{ file: 'src/cli/ps.ts', find: 'JSON.stringify(shown.map(({ env: _env, ...rest }) => rest), null, 2)', replace: 'JSON.stringify(shown, null, 2)' }],
    tests: ['test/escapes-ids.test.ts'],
  },
  {
    name: 'supervisor-inherits-env',
    why: "the supervisor inherits its creator's whole environment",
    edits: [{ file: 'src/pod/pause-process.ts', find: "(SUPERVISOR_ENV.includes(k) || k.startsWith('NSBOX_'))", replace: 'true' }],
    tests: ['test/escapes-ids.test.ts'],
  },
  {
    name: 'scratch-left-behind',
    why: 'an import killed mid-way leaves its scratch directory (stale ones never swept)',
    edits: [{ file: 'src/image/import.ts', find: "    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;", replace: '    if (m || !m) continue;' }],
    tests: ['test/faults.test.ts'],
    grep: 'import',
  },
  {
    name: 'forwarder-not-killed',
    why: "the pod's forwarder is not killed when the pause exits",
    edits: [{ file: 'src/pod/pod.ts', find: '        process.kill(this.portServerPid, SIGKILL);', replace: '        void SIGKILL;' }],
    tests: ['test/ports.test.ts', 'test/faults.test.ts'],
  },
];
