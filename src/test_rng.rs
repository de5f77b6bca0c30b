//! A small deterministic random number generator (xorshift) for the tests that generate their
//! inputs, so that a failure can be replayed from its seed.

#[derive(Debug, Clone)]
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A line ending: mostly `\n`, some `\r\n`, rarely a bare `\r`.
    pub(crate) fn ending(&mut self) -> &'static str {
        match self.below(100) {
            0..=79 => "\n",
            80..=98 => "\r\n",
            _ => "\r",
        }
    }
}
