// The RTMP client: the library's own client, which relays use.
use crate::protocol::message::Message;
pub struct Client;
