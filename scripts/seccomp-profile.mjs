#!/usr/bin/env node
// Writes seccomp/default.json, the default seccomp profile, in the OCI/docker
// JSON profile format: the policy of containers-common's default (the one
// podman applies). Unknown system calls fail with ENOSYS, so programs fall
// back as they do on an older kernel; the kernel interfaces a container has
// no business with fail with EPERM unless it holds the capability that
// would make them meaningful. Namespace and mount calls stay allowed, so a
// container can itself run rootless tools (unshare, setns, mount,
// pivot_root, clone3, keyctl). Run it after changing the lists below; the
// test suite checks that the file in the repository is what it writes.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const EPERM = 1;
const EINVAL = 22;
const ENOSYS = 38;

const words = (text) => text.trim().split(/\s+/);

/** Refused to everyone: obsolete, or kernel-wide effects no container should have. */
const DENIED = words(`
  bdflush io_pgetevents kexec_file_load kexec_load membarrier migrate_pages move_pages nfsservctl nice
  oldfstat oldlstat oldolduname oldstat olduname pciconfig_iobase pciconfig_read pciconfig_write sgetmask
  ssetmask swapcontext swapoff swapon sysfs uselib userfaultfd ustat vm86 vm86old vmsplice`);

/** Allowed to everyone, whatever its capabilities. */
const ALLOWED = words(`
  _llseek _newselect accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32
  clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep
  clock_nanosleep_time64 clone clone3 close close_range connect copy_file_range creat dup dup2 dup3
  epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old
  eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate
  fanotify_mark fchdir fchmod fchmodat fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr
  flock fork fremovexattr fsconfig fsetxattr fsmount fsopen fspick fstat fstat64 fstatat64 fstatfs fstatfs64
  fsync ftruncate ftruncate64 futex futex_time64 futimesat get_robust_list get_thread_area getcpu getcwd
  getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getitimer
  getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid getresgid32 getresuid
  getresuid32 getrlimit getrusage getsid getsockname getsockopt gettid gettimeofday getuid getuid32 getxattr
  inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel io_destroy io_getevents io_setup
  io_submit ioctl ioprio_get ioprio_set ipc keyctl kill lchown lchown32 lgetxattr link linkat listen
  listxattr llistxattr lremovexattr lseek lsetxattr lstat lstat64 madvise memfd_create mincore mkdir mkdirat
  mknod mknodat mlock mlock2 mlockall mmap mmap2 mount move_mount mprotect mq_getsetattr mq_notify mq_open
  mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap msgctl msgget
  msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat open openat openat2
  open_tree pause pidfd_getfd pidfd_open pidfd_send_signal pipe pipe2 pivot_root pkey_alloc pkey_free
  pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64 pselect6 pselect6_time64
  pwrite64 pwritev pwritev2 read readahead readdir readlink readlinkat readv reboot recv recvfrom recvmmsg
  recvmmsg_time64 recvmsg remap_file_pages removexattr rename renameat renameat2 restart_syscall rmdir rseq
  rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
  rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_get_priority_max sched_get_priority_min sched_getaffinity
  sched_getattr sched_getparam sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64
  sched_setaffinity sched_setattr sched_setparam sched_setscheduler sched_yield seccomp select semctl semget
  semop semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setns set_robust_list
  set_thread_area set_tid_address setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups
  setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid setresuid32
  setreuid setreuid32 setrlimit setsid setsockopt setuid setuid32 setxattr shmat shmctl shmdt shmget shutdown
  sigaltstack signalfd signalfd4 sigreturn socketcall socketpair splice stat stat64 statfs statfs64 statx
  symlink symlinkat sync sync_file_range syncfs sysinfo syslog tee tgkill time timer_create timer_delete
  timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime
  timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask umount
  umount2 uname unlink unlinkat unshare utime utimensat utimensat_time64 utimes vfork wait4 waitid waitpid
  write writev`);

/** personality(2) only for the personas programs ask for (Linux, 32-bit emulation, and the query). */
const PERSONAS = [0, 8, 0x20000, 0x20008, 0xffffffff];

/** Calls of one architecture family only. */
const BY_ARCH = [
  { arches: ['ppc64le'], names: ['sync_file_range2'] },
  { arches: ['arm', 'arm64'], names: words('arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls') },
  { arches: ['amd64', 'x32'], names: ['arch_prctl'] },
  { arches: ['amd64', 'x32', 'x86'], names: ['modify_ldt'] },
  { arches: ['s390', 's390x'], names: words('s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr') },
];

/** Calls that only a holder of the capability may make: allowed with it, EPERM without. */
const BY_CAPABILITY = [
  { cap: 'CAP_DAC_READ_SEARCH', names: ['open_by_handle_at'] },
  // setns is not here: nesting needs it, and containers-common allows it to everyone too (its copy in
  // this group there is shadowed by the unconditional allow; here the data says it once).
  { cap: 'CAP_SYS_ADMIN', names: words('bpf fanotify_init lookup_dcookie perf_event_open quotactl setdomainname sethostname') },
  { cap: 'CAP_SYS_CHROOT', names: ['chroot'] },
  { cap: 'CAP_SYS_MODULE', names: words('delete_module init_module finit_module query_module') },
  { cap: 'CAP_SYS_NICE', names: words('get_mempolicy mbind set_mempolicy') },
  { cap: 'CAP_SYS_PACCT', names: ['acct'] },
  { cap: 'CAP_SYS_PTRACE', names: words('kcmp process_madvise process_vm_readv process_vm_writev ptrace') },
  { cap: 'CAP_SYS_RAWIO', names: words('iopl ioperm') },
  { cap: 'CAP_SYS_TIME', names: words('settimeofday stime clock_settime clock_settime64') },
  { cap: 'CAP_SYS_TTY_CONFIG', names: ['vhangup'] },
];

const AF_NETLINK = 16;
const NETLINK_AUDIT = 9;
const eq = (index, value) => ({ index, value, valueTwo: 0, op: 'SCMP_CMP_EQ' });
const ne = (index, value) => ({ index, value, valueTwo: 0, op: 'SCMP_CMP_NE' });
const rule = (names, action, extra = {}) => ({ names, action, ...extra });

const syscalls = [
  rule(DENIED, 'SCMP_ACT_ERRNO', { errnoRet: EPERM }),
  rule(ALLOWED, 'SCMP_ACT_ALLOW'),
  ...PERSONAS.map((p) => rule(['personality'], 'SCMP_ACT_ALLOW', { args: [eq(0, p)] })),
  ...BY_ARCH.map((a) => rule(a.names, 'SCMP_ACT_ALLOW', { includes: { arches: a.arches } })),
  ...BY_CAPABILITY.flatMap((c) => [
    rule(c.names, 'SCMP_ACT_ALLOW', { includes: { caps: [c.cap] } }),
    rule(c.names, 'SCMP_ACT_ERRNO', { excludes: { caps: [c.cap] }, errnoRet: EPERM }),
  ]),
  // Audit sockets need CAP_AUDIT_WRITE: without it, EINVAL for a netlink audit socket, every other socket allowed.
  rule(['socket'], 'SCMP_ACT_ERRNO', { args: [eq(0, AF_NETLINK), eq(2, NETLINK_AUDIT)], excludes: { caps: ['CAP_AUDIT_WRITE'] }, errnoRet: EINVAL }),
  rule(['socket'], 'SCMP_ACT_ALLOW', { args: [ne(2, NETLINK_AUDIT)], excludes: { caps: ['CAP_AUDIT_WRITE'] } }),
  rule(['socket'], 'SCMP_ACT_ALLOW', { args: [ne(0, AF_NETLINK)], excludes: { caps: ['CAP_AUDIT_WRITE'] } }),
  rule(['socket'], 'SCMP_ACT_ALLOW', { includes: { caps: ['CAP_AUDIT_WRITE'] } }),
];

const archMap = [
  ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
  ['SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64N32'],
  ['SCMP_ARCH_MIPS64N32', 'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64'],
  ['SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64N32'],
  ['SCMP_ARCH_MIPSEL64N32', 'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64'],
  ['SCMP_ARCH_S390X', 'SCMP_ARCH_S390'],
].map(([architecture, ...subArchitectures]) => ({ architecture, subArchitectures }));

// Each call has one rule that decides it for a given container: none is both in ALLOWED and elsewhere.
for (const r of syscalls.slice(2)) {
  const twice = r.names.filter((n) => ALLOWED.includes(n) || DENIED.includes(n));
  if (twice.length) throw new Error(`${twice.join(', ')}: listed twice`);
}

export const defaultProfile = { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: ENOSYS, archMap, syscalls };
export const defaultProfileText = JSON.stringify(defaultProfile, null, 2) + '\n';
export const defaultProfilePath = join(dirname(fileURLToPath(import.meta.url)), '..', 'seccomp', 'default.json');

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(defaultProfilePath, defaultProfileText);
  console.log(`wrote ${defaultProfilePath}: ${syscalls.length} rules`);
}
