pub mod muxer;
