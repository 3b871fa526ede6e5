#!/usr/bin/env bash
# Fails when a module reaches past its place in the crate (see the crate
# docs' Layers: src/lib.rs, `cargo doc --open`), printing `file:line: rule: what`. The rules, and why:
#
# - sockets, files, threads, clocks, locks, system: protocol/, media/, session/ stay sans-I/O.
# - server, up_from_protocol, up_from_media: the core names no server, and protocol < media < session.
# - config.rs, error.rs, fuzz.rs: no I/O, no server (server_only); fuzz.rs may spawn, for a big stack.
# - circle: no loop of imports among the library's files, so each is read and moved with what it names.
# - stream_wing: server/stream/ uses only stream/ and net/ of server/: the fan-out core needs no door.
# - client_only_relay: only server/relay/ uses crate::client: a relay is the server's one RTMP client.
# - back_to_mod_rs: no file of server/ names server/mod.rs: the composer names wings, never the reverse.
# - config_via_lib: server/ names crate::config's sections, never lib.rs's re-exported Config.
# - too_long: at most 700 lines per src/ file (binaries too), test module aside: one file, one concern.
#
#   scripts/check-layers.sh              # check src/
#   scripts/check-layers.sh --root DIR   # check DIR/src instead (a scratch copy)
#   scripts/check-layers.sh --self-test  # the probe in scripts/layer-probe
#                                        # must be caught, line by line
#
# Imports are read whole: grouped (`use std::{net::TcpStream, thread}`),
# nested and aliased (`Instant as Clock`) ones are expanded to full paths
# before the rules apply, and code is checked for paths written inline.
# The import rules (circle to back_to_mod_rs) cover the library: src/
# without main.rs, cli/ and bin/, which belong to the binaries' own crates.
# There a file imports another when a `use` or an inline path (`crate::`,
# `super::`, `self::`, a child module or a name a `use` brought in) resolves
# to it; a module naming its own direct children (`mod x;`, `pub use x::..`)
# composes them and imports nothing; test modules are left out, and so are
# comments and string literals.
set -euo pipefail
cd "$(dirname "$0")/.."

check() {
  local root=$1
  perl - "$root" <<'PERL'
use strict;
use warnings;
no warnings 'recursion';

my $root = shift;

# Rules: a name and a pattern matched against every imported path and the
# code itself (comments removed).
my %rule = (
  sockets  => qr/\b(?:TcpStream|TcpListener|UdpSocket|socket2)\b/,
  files    => qr/\bstd::(?:fs|env|process)\b|\bstd::io::std(?:in|out|err)\b/,
  threads  => qr/\bstd::thread\b|\bthread_local!|\bthread::(?:spawn|sleep|scope|Builder)\b/,
  clocks   => qr/\bstd::time::(?:Instant|SystemTime)\b|\b(?:Instant|SystemTime)::now\b/,
  locks    => qr/\bstd::sync::(?:Mutex|RwLock|Condvar|Barrier|Once|OnceLock|LazyLock|mpsc|atomic)\b|\b(?:Mutex|RwLock|Condvar|Atomic(?:Bool|Usize|Isize|U8|U16|U32|U64|I8|I16|I32|I64|Ptr))\b|\bcrossbeam\w*|\bparking_lot\b/,
  system   => qr/\b(?:libc|getrandom|rlimit|signal_hook|env_logger|argh)\b/,
  server   => qr/\bcrate::(?:server|client)\b|\bcrate::(?:Server|ServerHandle|ServerStats|StreamStats|Config|Access|Cidr|Error)\b|\bcrate::(?:config|error|fuzz)\b/,
  up_from_protocol => qr/\bcrate::(?:media|session)\b/,
  up_from_media    => qr/\bcrate::session\b/,
  config_via_lib   => qr/\bcrate::(?:Config|Access|App|Cidr|Hooks|HttpBind|Record|TlsBind)\b/,
);
my @pure = qw(sockets files threads clocks locks system server);
my @sets = (
  ['src/protocol', [@pure, 'up_from_protocol']],
  ['src/media',    [@pure, 'up_from_media']],
  ['src/session',  [@pure]],
  ['src/config.rs', [qw(sockets files threads clocks locks system), 'server_only']],
  ['src/config',    [qw(sockets files threads clocks locks system), 'server_only']],
  ['src/error.rs',  [qw(sockets files threads clocks locks system), 'server_only']],
  # The fuzz entry points run each input on a thread with a connection
  # thread's stack; nothing else impure.
  ['src/fuzz.rs',   [qw(sockets files clocks locks system server_only)]],
  # A wing names the section of the settings it takes, from config.rs,
  # not the whole Config through lib.rs's re-exports.
  ['src/server',    ['config_via_lib']],
);
# config.rs and error.rs may name config and error, not the server.
$rule{server_only} = qr/\bcrate::(?:server|client)\b|\bcrate::(?:Server|ServerHandle|ServerStats|StreamStats)\b/;

# The longest a file may grow, its test module aside.
my $max_lines = 700;

# Expands a use tree ("std::{net::TcpStream, thread as t}") to full paths,
# each keeping its alias ("std::thread as t").
sub expand {
  my ($prefix, $tree) = @_;
  $tree =~ s/^\s+|\s+$//g;
  if ($tree =~ /^(.*?)\{(.*)\}$/s) {
    my ($head, $body) = ($1, $2);
    my @out;
    my ($depth, $start) = (0, 0);
    for my $i (0 .. length($body)) {
      my $c = $i < length($body) ? substr($body, $i, 1) : ',';
      $depth++ if $c eq '{';
      $depth-- if $c eq '}';
      if ($c eq ',' && $depth == 0) {
        my $part = substr($body, $start, $i - $start);
        push @out, expand($prefix . $head, $part) if $part =~ /\S/;
        $start = $i + 1;
      }
    }
    return @out;
  }
  $tree =~ s/\s+/ /g;
  return ($prefix . $tree);
}

# Reads a file into two copies of the same length, newlines kept so
# offsets and line numbers hold: `code` without comments, and `bare`
# without comments and literals (a string may hold `{`, `//` or `use`).
sub lex {
  my ($file) = @_;
  open my $fh, '<:encoding(UTF-8)', $file or die "$file: $!";
  my $src = do { local $/; <$fh> };
  my ($code, $bare) = ('', '');
  my $blank = sub { (my $t = shift) =~ s/[^\n]/ /g; $t };
  pos($src) = 0;
  while (pos($src) < length $src) {
    my $at = pos($src);
    if ($src =~ m{\G//[^\n]*}gc) {
      $code .= $blank->($&); $bare .= $blank->($&);
    } elsif ($src =~ m{\G/\*}gc) {
      my $depth = 1;
      while ($depth && $src =~ m{\G(?:/\*|\*/|.)}gcs) {
        $depth++ if $& eq '/*';
        $depth-- if $& eq '*/';
      }
      my $t = $blank->(substr($src, $at, pos($src) - $at));
      $code .= $t; $bare .= $t;
    } elsif ($src =~ m{\Gb?r(#*)"}gc) {
      my $hashes = $1;
      $src =~ m{\G.*?"\Q$hashes\E}gcs or $src =~ m{\G.*}gcs;
      my $t = substr($src, $at, pos($src) - $at);
      $code .= $t; $bare .= $blank->($t);
    } elsif ($src =~ m{\G[bc]?"(?:[^"\\]|\\.)*"?}gcs
          || $src =~ m{\Gb?'(?:\\(?:u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^\\'\n])'}gc) {
      $code .= $&; $bare .= $blank->($&);
    } else {
      $src =~ m{\G(?:\w+|\s+|.)}gcs;
      $code .= $&; $bare .= $&;
    }
  }
  return ($code, $bare);
}

sub line_at { my ($text, $offset) = @_; 1 + (substr($text, 0, $offset) =~ tr/\n//) }

# The offset of the `}` closing the `{` at $open, in text without literals.
sub closing {
  my ($bare, $open) = @_;
  my $depth = 0;
  for my $i ($open .. length($bare) - 1) {
    my $c = substr($bare, $i, 1);
    $depth++ if $c eq '{';
    $depth-- if $c eq '}';
    return $i if $depth == 0;
  }
  return length($bare) - 1;
}

my %parsed;
sub parse {
  my ($file) = @_;
  return $parsed{$file} if $parsed{$file};
  my ($code, $bare) = lex($file);
  # Test modules: `#[cfg(test)]`, maybe more attributes, then `mod x {..}`
  # or `mod x;` (a file of its own).
  my (@tests, @test_children);
  while ($bare =~ /#\s*\[\s*cfg\s*\(\s*test\s*\)\s*\]\s*(?:#\s*\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*([;{])/g) {
    my ($start, $end) = ($-[0], $+[0] - 1);
    if ($2 eq '{') { $end = closing($bare, $end) } else { push @test_children, $1 }
    push @tests, [$start, $end];
    pos($bare) = $end + 1;
  }
  # Inline modules (`mod marker { .. }`): `self` and `super` inside one
  # are relative to it.
  my @inline;
  while ($bare =~ /\bmod\s+(\w+)\s*\{/g) {
    push @inline, [$-[0], closing($bare, $+[0] - 1), $1];
  }
  return $parsed{$file} = {
    code => $code, bare => $bare, tests => \@tests,
    test_children => \@test_children, inline => \@inline,
  };
}

my $failures = 0;
sub report {
  my ($file, $line, $name, $text) = @_;
  (my $shown = $file) =~ s{^\Q$root\E/}{};
  print "$shown:$line: $name: $text\n";
  $failures++;
}

# The pure layers and the I/O-free root modules.
my @files;
for my $set (@sets) {
  my ($path, $rules) = @$set;
  my @found = -d "$root/$path" ? split /\n/, `find "$root/$path" -name '*.rs' | sort`
            : -f "$root/$path" ? ("$root/$path") : ();
  push @files, [$_, $rules] for @found;
}
for my $entry (@files) {
  my ($file, $rules) = @$entry;
  my $src = parse($file)->{code};
  my @checks;   # [line, text] to match
  while ($src =~ /\buse\s+([^;]+);/gs) {
    my $line = line_at($src, $-[0]);
    push @checks, [$line, s/\s+as\s+\w+$//r] for expand('', $1);
  }
  my $n = 0;
  for my $text (split /\n/, $src, -1) {
    $n++;
    push @checks, [$n, $text] unless $text =~ /^\s*(?:pub(?:\([^)]*\))?\s+)?use\b/;
  }
  my %seen;
  for my $check (@checks) {
    my ($line, $text) = @$check;
    for my $name (@$rules) {
      next unless $text =~ $rule{$name};
      next if $seen{"$line:$name"}++;
      report($file, $line, $name, $text);
    }
  }
}

# too_long: every file under src/, the binaries' included.
for my $file (split /\n/, `find "$root/src" -name '*.rs' | sort`) {
  my $p = parse($file);
  my @lines = split /\n/, $p->{code}, -1;
  pop @lines if @lines && $lines[-1] eq '';
  my %test_line;
  for my $t (@{ $p->{tests} }) {
    $test_line{$_} = 1 for line_at($p->{code}, $t->[0]) .. line_at($p->{code}, $t->[1]);
  }
  my @counted = grep { !$test_line{$_} } 1 .. @lines;
  next if @counted <= $max_lines;
  report($file, $counted[$max_lines], 'too_long',
    scalar(@counted) . " lines besides the test module, over $max_lines: split it by concern");
}

# The library's files as modules: src/server/stream/mod.rs is
# server::stream, src/lib.rs the root ''.
my (%file_of, %module_of);
for my $file (split /\n/, `find "$root/src" -name '*.rs' | sort`) {
  (my $rel = $file) =~ s{^\Q$root\E/src/}{};
  next if $rel eq 'main.rs' || $rel =~ m{^(?:cli|bin)/};
  my @segs = split m{/}, $rel =~ s/\.rs$//r;
  pop @segs if $segs[-1] eq 'mod';
  @segs = () if "@segs" eq 'lib';
  my $module = join '::', @segs;
  $file_of{$module} = $file;
  $module_of{$file} = $module;
}
# Files that are test modules (`#[cfg(test)] mod tests;`) are left out,
# with everything under them.
my @test_modules;
for my $file (keys %module_of) {
  my $m = $module_of{$file};
  push @test_modules, map { $m eq '' ? $_ : "${m}::$_" } @{ parse($file)->{test_children} };
}
for my $t (@test_modules) {
  for my $m (keys %file_of) {
    next unless $m eq $t || index($m, "${t}::") == 0;
    delete $module_of{ $file_of{$m} };
    delete $file_of{$m};
  }
}

# The file a path names: its longest prefix that is a file's module.
sub owner {
  my @segs = @_;
  while (1) {
    my $m = join '::', @segs;
    return $m if exists $file_of{$m};
    return undef unless @segs;
    pop @segs;
  }
}

# Resolves a path written in module @$here (with the names its `use`
# lines brought in) to its full module path, or nothing when it leaves
# the crate (std::, a dependency, a local type).
sub resolve {
  my ($here, $alias, $path) = @_;
  my @segs = grep { length } map { s/^\s+|\s+$//gr } split /::/, $path;
  return () unless @segs && $path !~ /^\s*::/;
  pop @segs while @segs && ($segs[-1] eq 'self' || $segs[-1] eq '*');
  return () unless @segs;
  my $first = shift @segs;
  my @base;
  if ($first eq 'crate' || $first eq '$crate') {
    @base = ();
  } elsif ($first eq 'self' || $first eq 'super') {
    @base = @$here;
    unshift @segs, $first;
    while (@segs && ($segs[0] eq 'self' || $segs[0] eq 'super')) {
      pop @base if shift(@segs) eq 'super';
    }
  } elsif ($alias->{$first}) {
    @base = @{ $alias->{$first} };
  } elsif (exists $file_of{ join '::', @$here, $first }) {
    @base = (@$here, $first);
  } else {
    return ();
  }
  return (@base, @segs);
}

# The module path of a place in a file: its file's, then the inline
# modules around it.
sub module_at {
  my ($p, $module, $offset) = @_;
  my @here = length $module ? split /::/, $module : ();
  for my $m (sort { $a->[0] <=> $b->[0] } @{ $p->{inline} }) {
    push @here, $m->[2] if $m->[0] <= $offset && $offset <= $m->[1];
  }
  return \@here;
}

# Arrows: $arrow{from}{to} = [line, path as written], the first of each.
my %arrow;
for my $file (sort keys %module_of) {
  my $module = $module_of{$file};
  my $p = parse($file);
  my $text = $p->{bare};
  for my $t (@{ $p->{tests} }) {
    substr($text, $t->[0], $t->[1] - $t->[0] + 1) =~ s/[^\n]/ /g;
  }
  my (@uses, %alias);
  while ($text =~ /\buse\s+([^;]+);/gs) {
    my ($start, $tree) = ($-[0], $1);
    my $here = module_at($p, $module, $start);
    for my $item (expand('', $tree)) {
      my ($path, $as) = $item =~ /^(.*?)(?:\s+as\s+(\w+))?$/s;
      next if defined $as && $as eq '_';
      my @full = resolve($here, \%alias, $path);
      next unless @full;
      push @uses, [$start, $path, \@full];
      my $name = $as // ($path =~ /(\w+)(?:::self)?\s*$/)[0];
      $alias{$name} = \@full if defined $name && $name ne 'self';
    }
  }
  # The `use` lines are read; the rest is code, scanned for paths.
  (my $code = $text) =~ s{\buse\s+[^;]+;}{ (my $t = $&) =~ s/[^\n]/ /g; $t }gse;
  my @inline;
  while ($code =~ /(?<![\w:])(\$?\w+(?:\s*::\s*\w+)+)/g) {
    my ($start, $path) = ($-[0], $1);
    my @full = resolve(module_at($p, $module, $start), \%alias, $path);
    push @inline, [$start, $path, \@full] if @full;
  }
  for my $u (@uses, @inline) {
    my ($start, $path, $full) = @$u;
    my $to = owner(@$full);
    next unless defined $to && $to ne $module;
    # A module naming its own direct children composes them.
    my @from = length $module ? split /::/, $module : ();
    my @to = length $to ? split /::/, $to : ();
    next if @to == @from + 1 && join('::', @to[0 .. $#from]) eq $module;
    my $line = line_at($text, $start);
    $arrow{$file}{ $file_of{$to} } = [$line, $path =~ s/\s+//gr]
      unless $arrow{$file}{ $file_of{$to} } && $arrow{$file}{ $file_of{$to} }[0] <= $line;
  }
}

sub shown { $_[0] =~ s{^\Q$root\E/}{}r }

# stream_wing, client_only_relay, back_to_mod_rs: one arrow at a time.
my $server_mod = $file_of{server};
for my $from (sort keys %arrow) {
  my $rel = shown($from);
  my $arrows = $arrow{$from};
  for my $to (sort { $arrows->{$a}[0] <=> $arrows->{$b}[0] || $a cmp $b } keys %$arrows) {
    my ($line, $path) = @{ $arrows->{$to} };
    my $target = shown($to);
    if ($rel =~ m{^src/server/stream/} && $target =~ m{^src/server/}
        && $target !~ m{^src/server/(?:stream|net)/}) {
      report($from, $line, 'stream_wing',
        "$path reaches $target; stream/ may use only stream/ and net/ of server/");
    }
    if ($target eq 'src/client.rs' && $rel !~ m{^src/server/relay/}) {
      report($from, $line, 'client_only_relay',
        "$path: only server/relay/ may use crate::client");
    }
    if (defined $server_mod && $to eq $server_mod && $rel =~ m{^src/server/}) {
      report($from, $line, 'back_to_mod_rs',
        "$path names server/mod.rs, the wings' composer; name the wing that holds it");
    }
  }
}

# circle: the strongly connected components (Tarjan) of more than one
# file, each reported once, at its first file's arrow into the shortest
# loop back to that file.
my (%index, %low, %on, @stack, @components);
my $next = 0;
sub visit {
  my ($v) = @_;
  $index{$v} = $low{$v} = $next++;
  push @stack, $v;
  $on{$v} = 1;
  for my $w (sort keys %{ $arrow{$v} || {} }) {
    if (!exists $index{$w}) {
      visit($w);
      $low{$v} = $low{$w} if $low{$w} < $low{$v};
    } elsif ($on{$w}) {
      $low{$v} = $index{$w} if $index{$w} < $low{$v};
    }
  }
  return unless $low{$v} == $index{$v};
  my @component;
  while (1) {
    my $w = pop @stack;
    delete $on{$w};
    push @component, $w;
    last if $w eq $v;
  }
  push @components, [sort @component] if @component > 1;
}
for my $v (sort keys %module_of) { visit($v) unless exists $index{$v} }
for my $component (sort { $a->[0] cmp $b->[0] } @components) {
  my %in = map { $_ => 1 } @$component;
  my $start = $component->[0];
  my %came = ($start => undef);
  my @queue = ($start);
  my $last;
  BFS: while (@queue) {
    my $v = shift @queue;
    for my $w (sort keys %{ $arrow{$v} || {} }) {
      next unless $in{$w};
      if ($w eq $start) { $last = $v; last BFS }
      next if exists $came{$w};
      $came{$w} = $v;
      push @queue, $w;
    }
  }
  my @loop = ($start);
  for (my $v = $last; $v ne $start; $v = $came{$v}) { splice @loop, 1, 0, $v }
  push @loop, $start;
  my ($line, $path) = @{ $arrow{$start}{ $loop[1] } };
  my $others = @$component > @loop - 1
    ? "; the circle holds " . join(', ', map { shown($_) } @$component) : '';
  report($start, $line, 'circle',
    "$path closes " . join(' -> ', map { shown($_) } @loop) . $others);
}
exit($failures ? 1 : 0);
PERL
}

if [ "${1:-}" = "--self-test" ]; then
  # Every line of the probe marked "must fail" is reported, and no other.
  report=$(check scripts/layer-probe || true)
  expected=$(grep -rn "must fail" scripts/layer-probe/src | sed -E 's|^scripts/layer-probe/([^:]+):([0-9]+):.*|\1:\2|' | sort -u)
  got=$(echo "$report" | sed -E 's|^([^:]+):([0-9]+):.*|\1:\2|' | sort -u)
  if [ "$expected" != "$got" ]; then
    echo "layer check self-test failed" >&2
    diff <(echo "$expected") <(echo "$got") >&2 || true
    echo "$report" >&2
    exit 1
  fi
  echo "layer check self-test ok ($(echo "$expected" | wc -l) violations caught)"
  exit 0
fi

root=.
if [ "${1:-}" = "--root" ]; then
  root=${2:?--root needs a directory holding src/}
  root=${root%/}
  [ -d "$root/src" ] || { echo "$root/src: no such directory" >&2; exit 2; }
fi

if ! report=$(check "$root"); then
  echo "layer check failed: these reach past their place:" >&2
  echo "$report" >&2
  exit 1
fi
echo "layers ok"
