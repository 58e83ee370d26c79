//! Rate limits on failed authentication: one token bucket per login name (client id, username)
//! and one per source address, on the server's [`Clock`] (so tests and simulations run them on
//! the virtual clock).
//!
//! A bucket holds `burst` failures and regains one every `refill`. Only failures take from it;
//! once it is empty every attempt of that name or address — the right secret too — is refused
//! with `429 Too Many Requests` and `Retry-After` until a failure's worth has come back. The
//! buckets are kept as a GCRA "theoretical arrival time" each (one instant per key), and a key
//! whose bucket is full again is forgotten, so the tables hold only names and addresses that
//! failed recently, and at most [`MAX_KEYS`] of each. An attempt of a name is taken before its
//! credentials are checked and given back if they were right ([`Limiter::try_take`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use slp_clock::Clock;

/// Most names (or addresses) tracked at once; past it, buckets already full again are dropped,
/// and a new key that still finds no room is not tracked (the other table still limits it).
pub const MAX_KEYS: usize = 100_000;

/// Longest login name kept (longer names are cut, in keys and in logs).
pub const MAX_NAME_CHARS: usize = 128;

/// How many failures a bucket holds, and how fast it refills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Failures allowed at once before the name or address is refused.
    pub burst: u32,
    /// Time for one failure's worth to come back.
    pub refill: Duration,
}

impl Rule {
    /// Per login name: 10 failures, then one more every 30 s (2 a minute).
    pub const PER_NAME: Rule = Rule { burst: 10, refill: Duration::seconds(30) };
    /// Per source address: 50 failures (over any names), then one more every 6 s (10 a minute).
    pub const PER_ADDRESS: Rule = Rule { burst: 50, refill: Duration::seconds(6) };

    /// How long the bucket of `tat` still refuses at `now`; zero when an attempt may go.
    fn wait(self, tat: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
        let allowed = self.refill * i32::try_from(self.burst.saturating_sub(1)).unwrap_or(i32::MAX);
        let ahead = tat - now;
        if ahead > allowed { ahead - allowed } else { Duration::zero() }
    }
}

/// The buckets of one server.
pub struct Limiter {
    clock: Arc<dyn Clock>,
    per_name: Rule,
    per_address: Rule,
    names: Mutex<HashMap<String, DateTime<Utc>>>,
    addresses: Mutex<HashMap<IpAddr, DateTime<Utc>>>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("per_name", &self.per_name)
            .field("per_address", &self.per_address)
            .finish_non_exhaustive()
    }
}

/// A refusal: too many failures of this name or address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// Whole seconds until the next attempt may go (at least 1).
    pub retry_after: u64,
}

/// The key of an address: IPv4 as is, IPv6 by its /64 (one host usually has a whole /64), an
/// IPv4-mapped IPv6 address as the IPv4 address.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

/// A login name as kept: at most [`MAX_NAME_CHARS`] characters.
pub fn name_key(name: &str) -> String {
    name.chars().take(MAX_NAME_CHARS).collect()
}

impl Limiter {
    pub fn new(clock: Arc<dyn Clock>, per_name: Rule, per_address: Rule) -> Limiter {
        Limiter {
            clock,
            per_name,
            per_address,
            names: Mutex::new(HashMap::new()),
            addresses: Mutex::new(HashMap::new()),
        }
    }

    /// Whether an attempt of `name` from `address` may go now (takes nothing from the buckets).
    pub fn check(&self, name: Option<&str>, address: Option<IpAddr>) -> Result<(), Limited> {
        let now = self.clock.now();
        let mut wait = Duration::zero();
        if let Some(name) = name {
            let names = self.names.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(tat) = names.get(&name_key(name)) {
                wait = wait.max(self.per_name.wait(*tat, now));
            }
        }
        if let Some(address) = address {
            let addresses = self.addresses.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(tat) = addresses.get(&address_key(address)) {
                wait = wait.max(self.per_address.wait(*tat, now));
            }
        }
        if wait > Duration::zero() {
            let millis = u64::try_from(wait.num_milliseconds()).unwrap_or(u64::MAX);
            Err(Limited { retry_after: millis.div_ceil(1000).max(1) })
        } else {
            Ok(())
        }
    }

    /// Checks `name` and `address`, and takes one attempt from the bucket of `name` at once,
    /// before the credentials are checked: concurrent guesses of one name cannot all pass a
    /// check that only their failures would have closed. [`Limiter::refund`] gives it back
    /// when the credentials were right; a failure keeps it. The address is only checked (a
    /// busy client with the right credentials never runs out); its failures are taken after
    /// the fact ([`Limiter::fail`]).
    pub fn try_take(&self, name: Option<&str>, address: Option<IpAddr>) -> Result<Taken, Limited> {
        let now = self.clock.now();
        let name = name.map(name_key);
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = Duration::zero();
        if let Some(tat) = name.as_ref().and_then(|n| names.get(n)) {
            wait = wait.max(self.per_name.wait(*tat, now));
        }
        if let Some(address) = address {
            // Always names, then addresses: no two requests lock them in opposite orders.
            let addresses = self.addresses.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(tat) = addresses.get(&address_key(address)) {
                wait = wait.max(self.per_address.wait(*tat, now));
            }
        }
        if wait > Duration::zero() {
            let millis = u64::try_from(wait.num_milliseconds()).unwrap_or(u64::MAX);
            return Err(Limited { retry_after: millis.div_ceil(1000).max(1) });
        }
        if let Some(name) = &name {
            take(&mut names, name.clone(), self.per_name, now);
        }
        Ok(Taken { name })
    }

    /// Gives back what [`Limiter::try_take`] took (the credentials were right).
    pub fn refund(&self, taken: &Taken) {
        let now = self.clock.now();
        if let Some(name) = &taken.name {
            let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
            give_back(&mut names, name, self.per_name, now);
        }
    }

    /// Takes one failure from the buckets of `name` and `address`.
    pub fn fail(&self, name: Option<&str>, address: Option<IpAddr>) {
        let now = self.clock.now();
        if let Some(name) = name {
            let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
            take(&mut names, name_key(name), self.per_name, now);
        }
        if let Some(address) = address {
            let mut addresses = self.addresses.lock().unwrap_or_else(|p| p.into_inner());
            take(&mut addresses, address_key(address), self.per_address, now);
        }
    }

    /// How many names and addresses are tracked (for tests and the bound).
    pub fn tracked(&self) -> (usize, usize) {
        let names = self.names.lock().map(|n| n.len()).unwrap_or(0);
        let addresses = self.addresses.lock().map(|a| a.len()).unwrap_or(0);
        (names, addresses)
    }
}

/// One attempt taken from the bucket of a name (as keyed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    pub name: Option<String>,
}

fn give_back<K: std::hash::Hash + Eq>(
    table: &mut HashMap<K, DateTime<Utc>>,
    key: &K,
    rule: Rule,
    now: DateTime<Utc>,
) {
    if let Some(tat) = table.get_mut(key) {
        *tat -= rule.refill;
        if *tat <= now {
            table.remove(key);
        }
    }
}

fn take<K: std::hash::Hash + Eq>(
    table: &mut HashMap<K, DateTime<Utc>>,
    key: K,
    rule: Rule,
    now: DateTime<Utc>,
) {
    if !table.contains_key(&key) && table.len() >= MAX_KEYS {
        table.retain(|_, tat| *tat > now);
        if table.len() >= MAX_KEYS {
            return;
        }
    }
    let tat = table.entry(key).or_insert(now);
    // A bucket never owes more than its burst: failures while refused do not push the
    // window further out (the refusal itself is not a failed check of a secret).
    let full = now + rule.refill * i32::try_from(rule.burst).unwrap_or(i32::MAX);
    *tat = ((*tat).max(now) + rule.refill).min(full);
}

#[cfg(test)]
mod tests {
    use super::*;
    use slp_clock::VirtualClock;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|t| t.to_utc()).unwrap_or_default()
    }

    #[test]
    fn a_name_is_refused_after_its_burst_until_one_refill_passes() {
        let clock = Arc::new(VirtualClock::frozen(at("2026-12-01T00:00:00Z")));
        let rule = Rule { burst: 3, refill: Duration::seconds(20) };
        let limiter = Limiter::new(clock.clone(), rule, Rule::PER_ADDRESS);
        for _ in 0..3 {
            assert_eq!(limiter.check(Some("alice"), None), Ok(()));
            limiter.fail(Some("alice"), None);
        }
        assert_eq!(limiter.check(Some("alice"), None), Err(Limited { retry_after: 20 }));
        assert_eq!(limiter.check(Some("bob"), None), Ok(()), "another name is not limited");
        clock.advance(Duration::seconds(19));
        assert_eq!(limiter.check(Some("alice"), None), Err(Limited { retry_after: 1 }));
        clock.advance(Duration::seconds(1));
        assert_eq!(limiter.check(Some("alice"), None), Ok(()));
        // One failure now refuses again at once; a full refill forgets the name.
        limiter.fail(Some("alice"), None);
        assert!(limiter.check(Some("alice"), None).is_err());
        clock.advance(Duration::seconds(60));
        assert_eq!(limiter.check(Some("alice"), None), Ok(()));
    }

    #[test]
    fn failures_while_refused_do_not_extend_the_window_past_the_burst() {
        let clock = Arc::new(VirtualClock::frozen(at("2026-12-01T00:00:00Z")));
        let rule = Rule { burst: 2, refill: Duration::seconds(10) };
        let limiter = Limiter::new(clock.clone(), Rule::PER_NAME, rule);
        let ip: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..1000 {
            limiter.fail(None, Some(ip));
        }
        assert_eq!(limiter.check(None, Some(ip)), Err(Limited { retry_after: 10 }));
        clock.advance(Duration::seconds(10));
        assert_eq!(limiter.check(None, Some(ip)), Ok(()));
    }

    #[test]
    fn attempts_are_taken_up_front_and_given_back_when_right() {
        let clock = Arc::new(VirtualClock::frozen(at("2026-12-01T00:00:00Z")));
        let rule = Rule { burst: 2, refill: Duration::seconds(10) };
        let limiter = Limiter::new(clock.clone(), rule, Rule::PER_ADDRESS);
        // Two attempts in flight at once fill the bucket: a third is refused before either
        // answers.
        let first = limiter.try_take(Some("alice"), None).unwrap();
        let second = limiter.try_take(Some("alice"), None).unwrap();
        assert_eq!(limiter.try_take(Some("alice"), None), Err(Limited { retry_after: 10 }));
        // The first was right: its attempt comes back; the second failed and keeps its.
        limiter.refund(&first);
        let third = limiter.try_take(Some("alice"), None).unwrap();
        assert!(limiter.try_take(Some("alice"), None).is_err());
        limiter.refund(&third);
        limiter.refund(&second);
        assert_eq!(limiter.tracked().0, 0, "all given back: the name is forgotten");
    }

    #[test]
    fn ipv6_addresses_share_the_bucket_of_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap_or(IpAddr::from([0u8; 16]));
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap_or(IpAddr::from([0u8; 16]));
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap_or(IpAddr::from([0u8; 16]));
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap_or(IpAddr::from([0u8; 16]));
        assert_eq!(address_key(mapped), IpAddr::from([192, 0, 2, 7]));
    }

    #[test]
    fn the_tables_stay_bounded_under_a_spray_of_names() {
        let clock = Arc::new(VirtualClock::frozen(at("2026-12-01T00:00:00Z")));
        let limiter = Limiter::new(clock.clone(), Rule::PER_NAME, Rule::PER_ADDRESS);
        for i in 0..MAX_KEYS + 10 {
            limiter.fail(Some(&format!("user{i}")), None);
        }
        assert_eq!(limiter.tracked().0, MAX_KEYS);
        // Once their buckets are full again, old names make room for new ones.
        clock.advance(Duration::seconds(31));
        limiter.fail(Some("late"), None);
        assert_eq!(limiter.tracked().0, 1);
        assert!(limiter.check(Some("late"), None).is_ok());
    }
}
