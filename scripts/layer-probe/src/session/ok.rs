// A clean session file: nothing here may be reported.
use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use crate::media::Frame;
use crate::protocol::message::Message;
