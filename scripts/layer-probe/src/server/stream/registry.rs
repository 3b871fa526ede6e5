// stream/ may use net/, here through super::super.
use super::super::net::waker::Waker;
pub struct Registry(Waker);
