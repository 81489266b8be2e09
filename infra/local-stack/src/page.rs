//! The guest page, served the way CloudFront will serve it: the built files of
//! `infra/guest-page/dist`, every response with the headers of
//! `infra/guest-page/headers.json` (the one source for both), the page's routes
//! (`/` and the intercom QR's `/s/<intercom>`) answered by `index.html`, and
//! content-hashed assets cached for a year.

use ota::domain::gate_number::GateNumber;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
struct HeaderSource {
    headers: BTreeMap<String, String>,
    cache: CachePolicy,
}

#[derive(Debug, Deserialize)]
struct CachePolicy {
    page: String,
    assets: String,
}

pub struct GuestPage {
    dist: PathBuf,
    index: Vec<u8>,
    pub headers: Vec<(String, String)>,
    cache: CachePolicy,
}

/// What the page answers for one path: status, content type, cache policy, bytes.
pub struct PageFile {
    pub content_type: &'static str,
    pub cache_control: String,
    pub body: Vec<u8>,
}

impl GuestPage {
    /// Reads the built page; `make run` and the test command build it first.
    pub fn load(guest_page_dir: &Path) -> Result<Self, String> {
        let source: HeaderSource = serde_json::from_slice(
            &std::fs::read(guest_page_dir.join("headers.json")).map_err(|e| format!("headers.json: {e}"))?,
        )
        .map_err(|e| format!("headers.json: {e}"))?;
        let dist = guest_page_dir.join("dist");
        let index = std::fs::read(dist.join("index.html")).map_err(|e| {
            format!("{}: {e}; build the page with `make page` (make run does)", dist.join("index.html").display())
        })?;
        Ok(Self { dist, index, headers: source.headers.into_iter().collect(), cache: source.cache })
    }

    /// The file for a GET of `segments`, or `None` where the page has nothing.
    pub fn file(&self, segments: &[&str]) -> Option<PageFile> {
        match segments {
            [""] | ["s", _] => Some(PageFile {
                content_type: "text/html; charset=utf-8",
                cache_control: self.cache.page.clone(),
                body: self.index.clone(),
            }),
            ["assets", name] if is_plain_file_name(name) => {
                let body = std::fs::read(self.dist.join("assets").join(name)).ok()?;
                Some(PageFile { content_type: content_type(name), cache_control: self.cache.assets.clone(), body })
            }
            _ => None,
        }
    }
}

/// No separators, no `..`: an asset name can only name a file in `dist/assets`.
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// The intercom's QR code as an SVG: `<link base>/s/<intercom>#<gate number>`, with
/// the gate number printed under it for guests whose camera fails.
pub fn intercom_qr_svg(link_base: &str, intercom: &str, number: &GateNumber) -> Result<String, String> {
    let payload = format!("{link_base}/s/{intercom}#{}", number.as_digits());
    let code = qrcode::QrCode::with_error_correction_level(payload.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| e.to_string())?;
    let modules = code.width();
    let quiet = 4;
    let size = modules + 2 * quiet;
    let mut path = String::new();
    for (i, color) in code.to_colors().iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (x, y) = (i % modules + quiet, i / modules + quiet);
            path.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    let text_y = size + 3;
    Ok(format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {h}" width="{px}" height="{hpx}" shape-rendering="crispEdges"><rect width="{size}" height="{h}" fill="#fff"/><path fill="#000" d="{path}"/><text x="{half}" y="{text_y}" font-family="sans-serif" font-size="2.6" text-anchor="middle">{printed}</text></svg>"##,
        printed = number.printed(),
        h = size + 5,
        px = size * 8,
        hpx = (size + 5) * 8,
        half = size as f32 / 2.0,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_names_cannot_leave_the_assets_folder() {
        for bad in ["", "..", "../index.html", ".env", "a/b.js", "a%2Fb.js"] {
            assert!(!is_plain_file_name(bad), "{bad:?}");
        }
        assert!(is_plain_file_name("app.3f2a9c1b0d.js"));
    }

    #[test]
    fn the_qr_prints_the_gate_number_under_it() {
        let number = GateNumber::parse("48210937").unwrap();
        let svg = intercom_qr_svg("http://127.0.0.1:3000", "ic-demo", &number).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains(">4821 0937</text>"));
    }
}
