//! `PORTAL_TRUSTED_PROXIES`: the reverse proxies whose forwarding headers are believed (the web layer
//! resolves the client's address with them).

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// The addresses and ranges whose forwarding headers are believed (`PORTAL_TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// A comma-separated list of addresses (`10.0.0.5`, `2001:db8::1`) and CIDR ranges (`10.0.0.0/24`,
    /// `2001:db8::/64`). The message of an error names the entry that is wrong.
    pub fn parse(value: &str) -> Result<Self, String> {
        let mut ranges = Vec::new();
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let range = IpNet::from_str(entry)
                .map(|net| net.trunc())
                .or_else(|_| IpAddr::from_str(entry).map(|ip| IpNet::from(ip.to_canonical())))
                .map_err(|_| format!("{entry:?} is not an IP address or a CIDR range such as 10.0.0.0/24 or 2001:db8::/64"))?;
            ranges.push(range);
        }
        Ok(Self(ranges))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.0.iter().any(|range| range.contains(&address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn trusted_proxies_parse_addresses_and_ranges() {
        let trusted = TrustedProxies::parse(" 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,::1,").unwrap();
        assert!(trusted.contains(ip("10.1.2.3")));
        assert!(trusted.contains(ip("192.0.2.7")));
        assert!(!trusted.contains(ip("192.0.2.8")));
        assert!(trusted.contains(ip("2001:db8:1::5")));
        assert!(trusted.contains(ip("::1")));
        assert!(trusted.contains(ip("::ffff:10.9.9.9")), "an IPv4-mapped peer is its IPv4 address");
        assert!(!trusted.contains(ip("2001:db9::1")));
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        for bad in ["10.0.0.0/33", "proxy.internal", "10.0.0", "2001:db8::/129", "10.0.0.0/8;10.1.0.0/16"] {
            let error = TrustedProxies::parse(bad).unwrap_err();
            assert!(error.contains("is not an IP address"), "{bad}: {error}");
        }
    }
}
