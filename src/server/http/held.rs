//! `Held`: a place among the HTTP requests held waiting, for a segment or
//! part to come (LL-HLS blocking reloads) or for a publisher (a play of
//! a name not live yet). Each holds a thread, so they are counted, per
//! address and server-wide (`Config::hls.max_blocked`,
//! `hls_max_blocked_per_ip`), and one past either limit is turned away.

use std::collections::HashMap;
use std::net::IpAddr;

use parking_lot::Mutex;

use crate::server::control::live::Live;

/// The places: how many requests are held, in all and per address.
#[derive(Default)]
pub(crate) struct Places(Mutex<(usize, HashMap<IpAddr, usize>)>);

/// A place, given back when dropped.
pub(crate) struct Held<'a> {
    blocked: &'a Mutex<(usize, HashMap<IpAddr, usize>)>,
    ip: IpAddr,
}

impl Places {
    /// A place, unless the server or the address holds as many as allowed.
    pub(crate) fn take(&self, ip: IpAddr, live: &Live) -> Option<Held<'_>> {
        let mut blocked = self.0.lock();
        let (total, per_ip) = &mut *blocked;
        let mine = per_ip.entry(ip).or_default();
        if *total >= live.config.hls.max_blocked || *mine >= live.config.hls.max_blocked_per_ip {
            return None;
        }
        *mine += 1;
        *total += 1;
        Some(Held { blocked: &self.0, ip })
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let mut blocked = self.blocked.lock();
        let (total, per_ip) = &mut *blocked;
        *total -= 1;
        if let Some(mine) = per_ip.get_mut(&self.ip) {
            *mine -= 1;
            if *mine == 0 {
                per_ip.remove(&self.ip);
            }
        }
    }
}
