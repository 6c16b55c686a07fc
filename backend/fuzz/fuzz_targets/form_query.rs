//! Form bodies and query strings as actix decodes them (`serde_urlencoded`)
//! into the app's own request types: any bytes either decode or are refused,
//! never a panic; and a decoded query keeps its limit a number.
#![no_main]

use backend::routes::api::v1::admin::UserQuery;
use backend::routes::forms::{CodeForm, LoginForm};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_urlencoded::from_bytes::<LoginForm>(data);
    let _ = serde_urlencoded::from_bytes::<CodeForm>(data);
    if let Ok(q) = serde_urlencoded::from_bytes::<UserQuery>(data) {
        // A limit that decoded is the number the text said, re-encodable.
        if let Some(limit) = q.limit {
            let again = serde_urlencoded::to_string([("limit", limit)]).expect("encodes");
            let back: UserQuery = serde_urlencoded::from_str(&again).expect("decodes");
            assert_eq!(back.limit, Some(limit));
        }
    }
});
