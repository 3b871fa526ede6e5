// net/ composes its files; its test module is a file of its own.
pub mod socket;
pub mod waker;

#[cfg(test)]
mod tests;
