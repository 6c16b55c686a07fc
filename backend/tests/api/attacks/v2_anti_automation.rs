//! ASVS 5.0 V2.4 (anti-automation): per-IP limits, IPv6 neighbours, floods of refused requests.
