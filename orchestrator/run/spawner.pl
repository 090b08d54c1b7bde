# The sandbox spawner: a small Perl program (perl-base is essential in Debian, so every image we
# ship has it) that forks sandbox processes for the orchestrator, so Node never forks itself. Node
# starts one per orchestrator (spawner-process.ts) and finds this file next to its own code. Between
# fork and exec each child gets what Node cannot give it: the death signal (SIGKILL when the spawner
# dies, which dies with the orchestrator), its data-segment cap, and SIGTRAP ignored. Its stdin,
# stdout and stderr are connections to the orchestrator's socket, each opened with a header line
# naming the stream and the spawn before Deno's exec, so nothing the script writes can come first.
#
# Usage: perl spawner.pl SOCKET_PATH ORCHESTRATOR_PID PRCTL_NR PRLIMIT64_NR
#
# Protocol (spawner-protocol.ts is Node's side), one line each way, fields split by tabs, every text
# field hex-encoded (paths and arguments may hold any byte but NUL). A command (~2 KB) is sent once
# and named by a number; ID is a spawn's random name, which its connections' headers carry:
#   in:  `command CMD ARGV ENV` (ARGV and ENV NUL-joined), `forget CMD`,
#        `spawn ID CMD DATA_BYTES CWD`, `kill ID`,
#        `ping N` (answered from the main loop: the spawner is not hung)
#   out: `ready`, `pid ID PID`, `fail ID STEP ERRNO`, `exit ID WAIT_STATUS`, `pong N`
#   each connection of a child: `STREAM ID\n` (STREAM 0, 1 or 2), then the stream's bytes.
# A child whose set-up failed never execs: its step and errno come back on a close-on-exec pipe.
# Invariants: the spawner never signals a process it has reaped (so never a reused pid); it exits,
# killing every child, when the orchestrator closes its stdin or dies; a child names itself only to
# the orchestrator's own listening socket (SO_PEERCRED), so a spawn's ID never reaches another process.
use strict;
use warnings;
no warnings 'exec';
use Fcntl qw(F_GETFL F_SETFL O_NONBLOCK);
use POSIX ();
use Socket qw(AF_UNIX SOCK_STREAM SOL_SOCKET SO_PEERCRED pack_sockaddr_un);

my ($socket_path, $orchestrator, $PRCTL, $PRLIMIT) = @ARGV;
my ($PR_SET_PDEATHSIG, $RLIMIT_DATA, $RLIM_NLIMITS, $SIGKILL) = (1, 2, 16, 9);
# Taken before any fork: in a child, $$ is the child's own pid.
my $spawner = $$;
$| = 1;

sub dies_with { my ($parent) = @_; syscall($PRCTL + 0, $PR_SET_PDEATHSIG, $SIGKILL) == 0 && getppid() == $parent }

# Dies with the orchestrator; an orchestrator already gone (before the death signal was set) has nothing to serve.
dies_with($orchestrator) or POSIX::_exit(3);
# Children take the orchestrator's limits (follow_limits): they must be readable from here.
my $limits = pack('QQ', 0, 0);
syscall($PRLIMIT + 0, $orchestrator + 0, $RLIMIT_DATA, 0, $limits) == 0 or POSIX::_exit(4);

my (%pid_of, %id_of, %commands);
pipe(my $wake_r, my $wake_w) or POSIX::_exit(5);
# A full wake pipe already says "reap": the handler must never block on it.
fcntl($wake_w, F_SETFL, fcntl($wake_w, F_GETFL, 0) | O_NONBLOCK) or POSIX::_exit(5);
$SIG{CHLD} = sub { syswrite($wake_w, 'c') };

sub reap {
  while ((my $pid = waitpid(-1, POSIX::WNOHANG())) > 0) {
    my $id = delete $id_of{$pid};
    next unless defined $id;
    delete $pid_of{$id};
    print "exit\t$id\t$?\n";
  }
}

# The orchestrator's limits as they are now, as a child Node spawned would inherit them (an operator
# may have lowered them since the spawner started, with prlimit --pid), never above this process's
# own hard ones, so setting them cannot fail for lack of privilege.
sub follow_limits {
  for my $resource (0 .. $RLIM_NLIMITS - 1) {
    my ($theirs, $mine) = (pack('QQ', 0, 0), pack('QQ', 0, 0));
    syscall($PRLIMIT + 0, $orchestrator + 0, $resource, 0, $theirs) == 0 or return 0;
    syscall($PRLIMIT + 0, 0, $resource, 0, $mine) == 0 or return 0;
    my ($soft, $hard) = unpack('QQ', $theirs);
    my (undef, $own_hard) = unpack('QQ', $mine);
    $hard = $own_hard if $own_hard < $hard;
    $soft = $hard if $hard < $soft;
    syscall($PRLIMIT + 0, 0, $resource, pack('QQ', $soft, $hard), 0) == 0 or return 0;
  }
  return 1;
}

# Whether the socket's other end is the orchestrator itself (struct ucred: pid, uid, gid), not a
# process of the same user that put its own listener at the socket's path; if not, $! says why
# (EPERM for a stranger).
sub peer_is_orchestrator {
  my ($s) = @_;
  my $cred = getsockopt($s, SOL_SOCKET, SO_PEERCRED) or return 0;
  my ($pid, $uid) = unpack('iI', $cred);
  $! = POSIX::EPERM();
  return $pid == $orchestrator && $uid == $<;
}

sub child {
  my ($report, $data_bytes, $cwd, $argv, $env, $id) = @_;
  my $fail = sub { syswrite($report, "$_[0]\t" . ($! + 0)); POSIX::_exit(127) };
  # Killed when the spawner dies, however it dies; a spawner already gone (before the signal was
  # set, so it would never come) means the orchestrator is too: the child must not start.
  dies_with($spawner) or $fail->('deathsig');
  follow_limits() or $fail->('limits');
  if ($data_bytes > 0) {
    syscall($PRLIMIT + 0, 0, $RLIMIT_DATA, pack('QQ', $data_bytes, $data_bytes), 0) == 0 or $fail->('datalimit');
  }
  # Ignored now, still ignored after exec: a SIGTRAP the script sends itself does nothing (result.ts).
  $SIG{TRAP} = 'IGNORE';
  $SIG{CHLD} = 'DEFAULT';
  # A connection the orchestrator dropped (out of descriptors) is then an EPIPE to report, not a silent death.
  $SIG{PIPE} = 'IGNORE';
  for my $stream (0, 1, 2) {
    socket(my $s, AF_UNIX, SOCK_STREAM, 0) or $fail->('socket');
    connect($s, pack_sockaddr_un($socket_path)) or $fail->('connect');
    # Whoever else listens there must learn nothing, not even the ID.
    peer_is_orchestrator($s) or $fail->('peer');
    my $head = "$stream $id\n";
    (syswrite($s, $head) // -1) == length($head) or $fail->('header');
    # dup2 clears close-on-exec on the copy; every other descriptor of this process has it (Perl's default above 2).
    POSIX::dup2(fileno($s), $stream) or $fail->('dup2');
  }
  # Nothing this process inherited beyond the three streams reaches Deno (the report pipe closes at exec).
  opendir(my $fds, '/proc/self/fd') or $fail->('fds');
  my @inherited = grep { /\A\d+\z/ && $_ > 2 && $_ != fileno($report) && $_ != fileno($fds) } readdir($fds);
  closedir($fds);
  POSIX::close($_) for @inherited;
  chdir($cwd) or $fail->('chdir');
  $SIG{PIPE} = 'DEFAULT';
  %ENV = map { split(/=/, $_, 2) } @$env;
  exec { $argv->[0] } @$argv;
  $fail->('exec');
}

sub spawn {
  my ($id, $cmd, $data_bytes, $cwd) = @_;
  my $command = $commands{$cmd};
  if (!defined $command) {
    print "fail\t$id\tcommand\t0\n";
    return;
  }
  my ($argv, $env) = @$command;
  pipe(my $report_r, my $report_w) or return print "fail\t$id\tpipe\t" . ($! + 0) . "\n";
  my $pid = fork();
  if (!defined $pid) {
    print "fail\t$id\tfork\t" . ($! + 0) . "\n";
    return;
  }
  if ($pid == 0) {
    close($report_r);
    child($report_w, $data_bytes, pack('H*', $cwd), $argv, $env, $id);
  }
  close($report_w);
  # EOF with nothing read: the exec happened (the pipe was close-on-exec), or the child died before
  # it; its exit, which follows, tells which.
  my $report = '';
  for (;;) {
    my $n = sysread($report_r, $report, 256, length($report));
    next if !defined($n) && $!{EINTR};
    last unless $n;
  }
  close($report_r);
  if (length($report) > 0) {
    waitpid($pid, 0);
    print "fail\t$id\t$report\n";
    return;
  }
  $pid_of{$id} = $pid;
  $id_of{$pid} = $id;
  print "pid\t$id\t$pid\n";
}

print "ready\n";
my $pending = '';
my $watch = '';
vec($watch, fileno(STDIN), 1) = 1;
vec($watch, fileno($wake_r), 1) = 1;
for (;;) {
  my $n = select(my $ready = $watch, undef, undef, undef);
  next if $n < 0;
  if (vec($ready, fileno($wake_r), 1)) {
    sysread($wake_r, my $ignored, 64);
    reap();
  }
  next unless vec($ready, fileno(STDIN), 1);
  my $got = sysread(STDIN, $pending, 65536, length($pending));
  next if !defined($got) && $!{EINTR};
  if (!$got) {
    # The orchestrator is done with us: no child outlives the spawner.
    kill($SIGKILL, values %pid_of);
    POSIX::_exit(0);
  }
  while ($pending =~ s/\A([^\n]*)\n//) {
    # -1: an empty last field (no environment) is still a field.
    my ($verb, @fields) = split(/\t/, $1, -1);
    if ($verb eq 'spawn') { spawn(@fields) }
    elsif ($verb eq 'command') { $commands{$fields[0]} = [[split(/\0/, pack('H*', $fields[1]), -1)], [split(/\0/, pack('H*', $fields[2]), -1)]] }
    elsif ($verb eq 'forget') { delete $commands{$fields[0]} }
    elsif ($verb eq 'ping') { print "pong\t$fields[0]\n" }
    elsif ($verb eq 'kill') { my $pid = $pid_of{$fields[0]}; kill($SIGKILL, $pid) if defined $pid }
  }
}
