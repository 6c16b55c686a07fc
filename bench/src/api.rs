//! Setting the stage through the app's public API, as a client would:
//! accounts, sign-in, MFA enrolment for the administrator.

use anyhow::{bail, Context};
use serde_json::{json, Value};
use ureq::Agent;

pub struct Api {
    base: String,
    agent: Agent,
}

impl Api {
    pub fn new(base: &str) -> Self {
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            base: base.trim_end_matches('/').to_owned(),
            agent,
        }
    }

    fn post(&self, path: &str, bearer: Option<&str>, body: &Value) -> anyhow::Result<(u16, Value)> {
        let mut req = self.agent.post(format!("{}{path}", self.base));
        if let Some(token) = bearer {
            req = req.header("Authorization", format!("Bearer {token}"));
        }
        let mut resp = req.send_json(body)?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string()?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    pub fn get(&self, path: &str, bearer: &str) -> anyhow::Result<(u16, Value)> {
        let mut resp = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {bearer}"))
            .call()?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string()?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    pub fn register(&self, username: &str, password: &str) -> anyhow::Result<()> {
        let body = json!({
            "username": username,
            "email": format!("{username}@bench.example"),
            "password": password,
        });
        match self.post("/api/v1/auth/register", None, &body)? {
            (201, _) => Ok(()),
            (status, body) => bail!("registering {username}: {status} {body}"),
        }
    }

    /// An access token for API calls (`POST /api/v1/auth/token`).
    pub fn token(&self, login: &str, password: &str) -> anyhow::Result<String> {
        let body = json!({ "login": login, "password": password });
        match self.post("/api/v1/auth/token", None, &body)? {
            (200, body) => body["access_token"]
                .as_str()
                .map(str::to_owned)
                .context("no access_token in the token response"),
            (status, body) => bail!("signing in as {login}: {status} {body}"),
        }
    }

    /// Enrols TOTP on the session `token` stands for (which then counts as
    /// having proved the second factor), as an administrator must.
    pub fn enrol_totp(&self, token: &str) -> anyhow::Result<()> {
        let (status, setup) = self.post("/api/v1/me/mfa/totp/setup", Some(token), &json!({}))?;
        if status != 200 {
            bail!("TOTP setup: {status} {setup}");
        }
        let secret = setup["secret"].as_str().context("no TOTP secret")?;
        let bytes = totp_rs::Secret::Encoded(secret.to_owned())
            .to_bytes()
            .map_err(|e| anyhow::anyhow!("the TOTP secret is not base32: {e:?}"))?;
        let secret = backend::security::totp::TotpSecret::from_bytes(bytes);
        let now = u64::try_from(chrono::Utc::now().timestamp())?;
        let code = backend::security::totp::code_at(&secret, now, 6).context("no TOTP code")?;
        let (status, body) = self.post(
            "/api/v1/me/mfa/totp/confirm",
            Some(token),
            &json!({ "code": code }),
        )?;
        if status != 200 {
            bail!("TOTP confirmation: {status} {body}");
        }
        Ok(())
    }
}
