//! The fuzz entry points over the test vectors and deterministic mutations
//! of them, so `cargo test` catches a panic on odd input. `scripts/fuzz.sh`
//! runs the same entry points under libFuzzer for real.

use std::fs;
use std::path::Path;

use rustic_rtmp::fuzz;

/// Mutants per seed and target: bounded, a few seconds in a debug build.
const MUTANTS: usize = 2000;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The captured and crafted inputs under tests/data, plus a few made here.
fn seeds() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut seeds: Vec<Vec<u8>> = fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "bin" || x == "ts"))
        .map(|e| fs::read(e.path()).unwrap())
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 4, "tests/data has the captured vectors");
    seeds.push(vec![]);
    seeds.push([0x0A, 0, 0, 0, 1].repeat(200)); // nested strict arrays
    seeds.push(vec![0x11, 0x0A, 0x0B, 0x01, 0x03, b'a', 0x06, 0x03, b'b', 0x01]); // AMF3 object
    seeds
}

fn mutate(seed: &[u8], rng: &mut XorShift) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(data.len() + 1);
        let last = data.len().saturating_sub(1);
        match rng.below(6) {
            0 if !data.is_empty() => data[at.min(last)] ^= 1 << rng.below(8),
            1 if !data.is_empty() => data[at.min(last)] = rng.next() as u8,
            2 => data.insert(at, rng.next() as u8),
            3 => data.truncate(at),
            4 if at < data.len() => {
                let end = (at + rng.below(64)).min(data.len());
                data.drain(at..end);
            }
            _ => {
                // An interesting value at a random spot: lengths and markers.
                let value = [0x00, 0xFF, 0x7F, 0x80, 0x03, 0x11][rng.below(6)];
                data.insert(at, value);
            }
        }
    }
    data
}

fn run(target: fn(&[u8]), seed_offset: u64) {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ seed_offset);
    for seed in seeds() {
        target(&seed);
        // Long captures get fewer mutants: their prefixes matter most.
        let mutants = if seed.len() > 4096 { MUTANTS / 10 } else { MUTANTS };
        for _ in 0..mutants {
            let mutant = mutate(&seed, &mut rng);
            target(&mutant);
        }
    }
    for _ in 0..MUTANTS {
        let len = rng.below(512);
        let random: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        target(&random);
    }
}

#[test]
fn handshake_never_panics() {
    run(fuzz::handshake, 1);
}

#[test]
fn chunk_decoder_never_panics() {
    run(fuzz::chunk_decoder, 2);
}

#[test]
fn amf_never_panics_and_round_trips() {
    run(fuzz::amf, 3);
}

#[test]
fn sessions_never_panic() {
    run(fuzz::session, 4);
}

#[test]
fn sessions_fed_whole_messages_never_panic() {
    run(fuzz::session_messages, 5);
}

#[test]
fn ts_demux_never_panics() {
    run(fuzz::ts_demux, 6);
}

#[test]
fn srt_packets_never_panic_and_round_trip() {
    run(fuzz::srt_packet, 7);
}

#[test]
fn srt_key_material_never_panics_and_round_trips() {
    run(fuzz::srt_key_material, 8);
}
