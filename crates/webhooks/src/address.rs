//! Where deliveries may go. Webhooks make the server send requests to addresses its users
//! choose, so the rules guard against server-side request forgery: HTTPS only, no credentials in
//! the URL, and never an internal address (private, link-local — cloud metadata services live
//! there — loopback and the like), whether written as an IP literal at registration or reached
//! through a host name at delivery time (see [`address_kind`], used by the delivery client's
//! resolver).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// The longest URL accepted.
const MAX_URL_LEN: usize = 2048;

/// What a network address is, as far as deliveries care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddressKind {
    /// Reachable on the internet: deliveries may go there.
    Public,
    /// This machine: only with `webhooks.allow_insecure_localhost` (development and tests).
    Loopback,
    /// Private, link-local, unspecified, multicast, reserved: never.
    Internal,
}

/// Classifies `ip`; IPv4 addresses embedded in IPv6 ones are judged as IPv4.
pub(crate) fn address_kind(ip: IpAddr) -> AddressKind {
    match ip {
        IpAddr::V4(v4) => v4_kind(v4),
        IpAddr::V6(v6) => v6_kind(v6),
    }
}

fn v4_kind(ip: Ipv4Addr) -> AddressKind {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        AddressKind::Loopback
    } else if ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (b & 0xc0) == 64) // shared address space (carrier-grade NAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b & 0xfe) == 18) // benchmarking
        || a >= 240
    // reserved
    {
        AddressKind::Internal
    } else {
        AddressKind::Public
    }
}

fn v6_kind(ip: Ipv6Addr) -> AddressKind {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_kind(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) reaches the embedded IPv4 address.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [_, _, _, _, _, _, high, low] = segments;
        return v4_kind(Ipv4Addr::from((u32::from(high) << 16) | u32::from(low)));
    }
    if ip.is_loopback() {
        AddressKind::Loopback
    } else if ip.is_unspecified()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local
        || (segments[0] & 0xffc0) == 0xfe80 // link-local
        || (segments[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
        || segments[..6] == [0, 0, 0, 0, 0, 0]
    // IPv4-compatible (deprecated)
    {
        AddressKind::Internal
    } else {
        AddressKind::Public
    }
}

/// True when deliveries may connect to `ip`.
pub(crate) fn may_connect(ip: IpAddr, allow_insecure_localhost: bool) -> bool {
    match address_kind(ip) {
        AddressKind::Public => true,
        AddressKind::Loopback => allow_insecure_localhost,
        AddressKind::Internal => false,
    }
}

/// A receiver's URL that passed the rules above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl(Url);

impl EndpointUrl {
    /// Checks `text`: an absolute `https://` URL without user name, password or fragment, whose
    /// host is a name or a public IP address. With `allow_insecure_localhost`, `http://` and
    /// `https://` to `localhost` or a loopback address are accepted too.
    pub fn parse(text: &str, allow_insecure_localhost: bool) -> Result<Self, String> {
        let text = text.trim();
        if text.len() > MAX_URL_LEN {
            return Err(format!("must be at most {MAX_URL_LEN} characters"));
        }
        let url = Url::parse(text).map_err(|_| {
            "must be an absolute URL such as https://example.com/hooks/dsms".to_owned()
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not contain a user name or password".into());
        }
        if url.fragment().is_some() {
            return Err("must not contain a #fragment".into());
        }
        let kind = match url.host() {
            None => return Err("must name a host".into()),
            Some(Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                if name == "localhost" || name.ends_with(".localhost") {
                    AddressKind::Loopback
                } else if name.is_empty() {
                    return Err("must name a host".into());
                } else {
                    AddressKind::Public
                }
            }
            Some(Host::Ipv4(ip)) => address_kind(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => address_kind(IpAddr::V6(ip)),
        };
        let loopback_allowed = kind == AddressKind::Loopback && allow_insecure_localhost;
        match kind {
            AddressKind::Internal => {
                return Err("must not be a private, link-local or reserved address".into());
            }
            AddressKind::Loopback if !allow_insecure_localhost => {
                return Err(
                    "must not point at this server (localhost or a loopback address)".into(),
                );
            }
            _ => {}
        }
        match url.scheme() {
            "https" => {}
            "http" if loopback_allowed => {}
            _ => return Err("must start with https://".into()),
        }
        Ok(Self(url))
    }

    /// The URL as stored and requested.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The URL without its query, for emails and logs: receivers sometimes put a token in the
    /// query string.
    pub fn without_query(&self) -> String {
        let mut url = self.0.clone();
        url.set_query(None);
        url.to_string()
    }
}

impl std::fmt::Display for EndpointUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str, allow: bool) -> String {
        EndpointUrl::parse(text, allow).expect_err(text)
    }

    #[test]
    fn https_urls_to_named_or_public_hosts_are_accepted() {
        for text in [
            "https://hooks.supplier.example/dsms",
            "https://hooks.supplier.example:8443/dsms?token=abc",
            "https://93.184.216.34/in",
            "https://[2606:2800:220:1:248:1893:25c8:1946]/in",
        ] {
            let url = EndpointUrl::parse(text, false).expect(text);
            assert_eq!(url.as_str(), text);
        }
    }

    #[test]
    fn plain_http_and_other_schemes_are_refused() {
        assert!(refused("http://hooks.supplier.example/", false).contains("https://"));
        assert!(refused("http://hooks.supplier.example/", true).contains("https://"));
        assert!(refused("ftp://hooks.supplier.example/", false).contains("https://"));
        assert!(refused("hooks.supplier.example/in", false).contains("absolute URL"));
    }

    #[test]
    fn credentials_and_fragments_are_refused() {
        assert!(refused("https://user:pw@hooks.example/", false).contains("user name"));
        assert!(refused("https://user@hooks.example/", false).contains("user name"));
        assert!(refused("https://hooks.example/#x", false).contains("fragment"));
    }

    #[test]
    fn internal_ip_literals_are_refused_whatever_the_flag() {
        for text in [
            "https://10.0.0.5/",
            "https://172.16.3.4/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[fe80::1]/",
            "https://[fd00::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://[64:ff9b::a9fe:a9fe]/",
            "https://[::]/",
            // Numeric host forms normalise to the same addresses.
            "https://0xa9.0xfe.0xa9.0xfe/",
            "https://167772161/",
        ] {
            for allow in [false, true] {
                assert!(
                    refused(text, allow).contains("private"),
                    "{text} (allow {allow})"
                );
            }
        }
    }

    #[test]
    fn loopback_only_with_the_flag_and_then_also_over_http() {
        for text in [
            "http://127.0.0.1:9000/hook",
            "https://127.0.0.1/hook",
            "http://localhost:9000/",
            "http://LOCALHOST./",
            "http://api.localhost/",
            "http://[::1]:9000/",
            "http://2130706433/",
        ] {
            assert!(refused(text, false).contains("loopback"), "{text}");
            EndpointUrl::parse(text, true).expect(text);
        }
    }

    #[test]
    fn the_query_is_left_out_where_urls_are_shown() {
        let url = EndpointUrl::parse("https://hooks.example/in?token=s3cret", false).unwrap();
        assert_eq!(url.without_query(), "https://hooks.example/in");
    }

    #[test]
    fn addresses_are_classified_for_the_delivery_resolver() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(may_connect(ip("93.184.216.34"), false));
        assert!(may_connect(ip("2606:2800:220:1::1"), false));
        assert!(!may_connect(ip("127.0.0.1"), false));
        assert!(may_connect(ip("127.0.0.1"), true));
        assert!(may_connect(ip("::1"), true));
        assert!(!may_connect(ip("169.254.169.254"), true));
        assert!(!may_connect(ip("::ffff:192.168.0.1"), true));
        assert!(!may_connect(ip("224.0.0.1"), true));
        assert!(!may_connect(ip("255.255.255.255"), true));
    }
}
