pub mod connection;
pub struct Rtmp;
