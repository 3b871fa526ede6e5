// A wing in one file: `super::` is server/mod.rs.
use super::stream::Registry;
use super::Wings; // must fail: super:: reaching the composer
