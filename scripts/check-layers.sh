#!/usr/bin/env bash
# Fails when a pure layer (protocol, media, session) or a root module that
# must stay free of I/O (config.rs, error.rs, fuzz.rs) reaches for sockets,
# files, threads, clocks, locks, atomics, channels, system crates, or a
# layer above it: see the crate docs' Layers (src/lib.rs, `cargo doc --open`).
#
#   scripts/check-layers.sh              # check src/
#   scripts/check-layers.sh --self-test  # the probe in scripts/layer-probe
#                                        # must be caught, line by line
#
# Imports are read whole: grouped (`use std::{net::TcpStream, thread}`),
# nested and aliased (`Instant as Clock`) ones are expanded to full paths
# before the rules apply, and code is checked for paths written inline.
set -euo pipefail
cd "$(dirname "$0")/.."

check() {
  local root=$1
  perl - "$root" <<'PERL'
use strict;
use warnings;

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
);
my @pure = qw(sockets files threads clocks locks system server);
my @sets = (
  ['src/protocol', [@pure, 'up_from_protocol']],
  ['src/media',    [@pure, 'up_from_media']],
  ['src/session',  [@pure]],
  ['src/config.rs', [qw(sockets files threads clocks locks system), 'server_only']],
  ['src/error.rs',  [qw(sockets files threads clocks locks system), 'server_only']],
  # The fuzz entry points run each input on a thread with a connection
  # thread's stack; nothing else impure.
  ['src/fuzz.rs',   [qw(sockets files clocks locks system server_only)]],
);
# config.rs and error.rs may name config and error, not the server.
$rule{server_only} = qr/\bcrate::(?:server|client)\b|\bcrate::(?:Server|ServerHandle|ServerStats|StreamStats)\b/;

# Expands a use tree ("std::{net::TcpStream, thread as t}") to full paths.
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
  $tree =~ s/\s+as\s+\w+$//;
  return ($prefix . $tree);
}

my @files;
for my $set (@sets) {
  my ($path, $rules) = @$set;
  my @found = -d "$root/$path" ? split /\n/, `find "$root/$path" -name '*.rs' | sort`
            : -f "$root/$path" ? ("$root/$path") : ();
  push @files, [$_, $rules] for @found;
}

my $failures = 0;
for my $entry (@files) {
  my ($file, $rules) = @$entry;
  open my $fh, '<', $file or die "$file: $!";
  my $src = do { local $/; <$fh> };
  # Comments out, newlines kept so line numbers hold.
  $src =~ s{/\*.*?\*/}{ my $c = $&; $c =~ tr/\n//cd; $c }gse;
  $src =~ s{//[^\n]*}{}g;
  my @checks;   # [line, text] to match
  while ($src =~ /\buse\s+([^;]+);/gs) {
    my $line = 1 + (substr($src, 0, $-[0]) =~ tr/\n//);
    push @checks, [$line, $_] for expand('', $1);
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
      (my $shown = $file) =~ s{^\Q$root\E/}{};
      print "$shown:$line: $name: $text\n";
      $failures++;
    }
  }
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

if ! report=$(check .); then
  echo "layer check failed: these reach past their layer:" >&2
  echo "$report" >&2
  exit 1
fi
echo "layers ok"
