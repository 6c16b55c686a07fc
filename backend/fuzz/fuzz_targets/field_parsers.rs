//! The parse-don't-validate newtypes shared by the server and the wasm
//! (`wire`): `Username`, `Email`, `LoginName`, `Ssn`. A value that
//! parses parses again to itself (the stored form is stable), and a masked
//! SSN shows at most its last four digits.
#![no_main]

use wire::{Email, LoginName, Ssn, Username};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(u) = Username::parse(text) {
        assert_eq!(Username::parse(u.as_str()).ok(), Some(u.clone()));
        assert!(u.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    }
    if let Ok(e) = Email::parse(text) {
        assert_eq!(Email::parse(e.as_str()).ok(), Some(e.clone()));
        assert_eq!(e.as_str(), e.as_str().to_ascii_lowercase());
    }
    let _ = LoginName::parse(text);
    if let Ok(ssn) = Ssn::parse(text) {
        assert_eq!(Ssn::parse(ssn.expose()).ok(), Some(ssn.clone()));
        let masked = ssn.masked();
        assert!(masked.starts_with("***-**-"));
        assert_eq!(masked.len(), 11);
        assert_eq!(&masked[7..], &ssn.expose()[7..]);
    }
});
