#!/usr/bin/perl
# wordfreq.pl - the perl workload (perlbench-like): regular expressions,
# hashes and sorting over a text/log corpus.  Prints the most frequent words,
# per-status totals and a running checksum; the output depends only on the
# input.
use strict;
use warnings;

my (%words, %status, %hosts, %pairs);
my ($lines, $sum, $hexbytes, $prev) = (0, 0, 0, '');
while (my $line = <>) {
	$lines++;
	if ($line =~ /^(\d+) (\S+) GET (\S+) status=(\d+) bytes=(\d+) ms=(\d+)/) {
		$status{$4}{n}++;
		$status{$4}{bytes} += $5;
		$hosts{$2} += $6;
		my @parts = split m{/}, $3;
		$words{$_}++ for grep { length } @parts;
	} elsif ($line =~ /^([0-9a-f]+)$/) {
		$hexbytes += length($1) / 2;
	} else {
		for my $w ($line =~ /([a-z]{2,})/gi) {
			$w = lc $w;
			$words{$w}++;
			$pairs{"$prev $w"}++ if $prev;
			$prev = $w;
		}
	}
	$sum = ($sum * 131 + length $line) % 1000000007;
}
my @top = (sort { $words{$b} <=> $words{$a} || $a cmp $b } keys %words)[0 .. 19];
printf "%-16s %d\n", $_, $words{$_} for @top;
my @toppairs = (sort { $pairs{$b} <=> $pairs{$a} || $a cmp $b } keys %pairs)[0 .. 9];
printf "%-32s %d\n", $_, $pairs{$_} for @toppairs;
printf "status %s: %d requests, %d bytes\n", $_, $status{$_}{n}, $status{$_}{bytes}
	for sort keys %status;
my @slow = (sort { $hosts{$b} <=> $hosts{$a} || $a cmp $b } keys %hosts)[0 .. 4];
printf "host %s: %d ms\n", $_, $hosts{$_} for @slow;
printf "lines %d, distinct words %d, pairs %d, hex bytes %d, checksum %d\n",
	$lines, scalar(keys %words), scalar(keys %pairs), $hexbytes, $sum;
