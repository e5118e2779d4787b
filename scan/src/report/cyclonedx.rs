//! The image's SBOM as CycloneDX 1.5 JSON, built with the official `cyclonedx-bom` model
//! (which validates and serializes per spec version). Package URLs follow the purl spec:
//! `pkg:deb/debian/libc6@2.36-9?distro=debian-12`, `pkg:apk/alpine/musl@1.2.4-r2?distro=3.19.1`,
//! `pkg:pypi/numpy@1.26.4`.

use super::ImageScan;
use crate::Error;
use crate::package::{Ecosystem, OsRelease, Package};
use cyclonedx_bom::models::component::Classification;
use cyclonedx_bom::models::metadata::Metadata;
use cyclonedx_bom::models::property::{Properties, Property};
use cyclonedx_bom::models::tool::{Tool, Tools};
use cyclonedx_bom::prelude::{Bom, Component, Components, Purl, SpecVersion, Validate};
use purl::GenericPurlBuilder;
use std::str::FromStr;

fn render_error(message: impl ToString) -> Error {
    Error::Render {
        format: "CycloneDX",
        message: message.to_string(),
    }
}

/// `image` names the image (its repository); `digest` is its manifest digest, the version
/// of the BOM's subject.
pub fn cyclonedx_json(scan: &ImageScan, image: &str, digest: &str) -> Result<String, Error> {
    let mut metadata = Metadata::new().map_err(render_error)?;
    metadata.tools = Some(Tools::List(vec![Tool::new(
        "Keynet",
        "keynet-scan",
        env!("CARGO_PKG_VERSION"),
    )]));
    metadata.component = Some(Component::new(
        Classification::Container,
        image,
        digest,
        Some(digest.to_owned()),
    ));

    let mut components = Vec::with_capacity(scan.packages.len() + 1);
    if let Some(os) = &scan.os {
        let version = os.version_id.as_deref().unwrap_or("");
        let mut component = Component::new(
            Classification::OperatingSystem,
            &os.id,
            version,
            Some(format!("os:{}", os.id)),
        );
        component.description = os.pretty_name.as_deref().map(Into::into);
        components.push(component);
    }
    for (index, package) in scan.packages.iter().enumerate() {
        let mut component = Component::new(
            Classification::Library,
            &package.name,
            &package.version,
            Some(format!("package-{index}")),
        );
        let purl = purl(package, scan.os.as_ref())?;
        component.purl =
            Some(Purl::from_str(&purl).map_err(|()| render_error(format!("invalid purl {purl}")))?);
        let mut properties = vec![Property::new("keynet:path", &package.path)];
        if let Some(layer) = &package.layer {
            properties.push(Property::new("keynet:layer", layer));
        }
        if let Some(source) = &package.source {
            properties.push(Property::new("keynet:source-package", source));
        }
        component.properties = Some(Properties(properties));
        components.push(component);
    }

    let bom = Bom {
        metadata: Some(metadata),
        components: Some(Components(components)),
        spec_version: SpecVersion::V1_5,
        ..Bom::default()
    };
    let validation = bom.validate_version(SpecVersion::V1_5);
    if validation.has_errors() {
        return Err(render_error(format!("{validation:?}")));
    }
    let mut out = Vec::new();
    bom.output_as_json_v1_5(&mut out).map_err(render_error)?;
    String::from_utf8(out).map_err(render_error)
}

/// The package URL of a package; Debian and Alpine ones name the distribution, from the
/// image's os-release.
fn purl(package: &Package, os: Option<&OsRelease>) -> Result<String, Error> {
    let (kind, namespace, distro) = match package.ecosystem {
        Ecosystem::Debian => {
            let id = os.map_or("debian", |os| os.id.as_str());
            let distro = os.and_then(|os| os.version_id.as_ref().map(|v| format!("{id}-{v}")));
            ("deb", Some(id), distro)
        }
        Ecosystem::Alpine => (
            "apk",
            Some("alpine"),
            os.and_then(|os| os.version_id.clone()),
        ),
        Ecosystem::PyPI => ("pypi", None, None),
    };
    let mut builder = GenericPurlBuilder::new(kind.to_owned(), package.name.as_str())
        .with_version(package.version.as_str());
    if let Some(namespace) = namespace {
        builder = builder.with_namespace(namespace);
    }
    if let Some(distro) = distro {
        builder = builder
            .with_qualifier("distro", distro)
            .map_err(render_error)?;
    }
    Ok(builder.build().map_err(render_error)?.to_string())
}
