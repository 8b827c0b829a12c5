//! The report's templates: `report-templates/` compiled in, or a folder of edited copies.

use std::io;
use std::path::Path;

use minijinja::Environment;
use minijinja::syntax::SyntaxConfig;

/// Every template, by file name, as `report-templates/` holds them.
const BUILT_IN: [(&str, &str); 5] = [
    ("report.html.j2", include_str!("../../report-templates/report.html.j2")),
    ("report.md.j2", include_str!("../../report-templates/report.md.j2")),
    ("tables.md.j2", include_str!("../../report-templates/tables.md.j2")),
    ("readme.md.j2", include_str!("../../report-templates/readme.md.j2")),
    ("compare.md.j2", include_str!("../../report-templates/compare.md.j2")),
];

/// The templates, from `folder` when given (each file there replaces the built-in one of the
/// same name) or built in. HTML templates escape what they print.
pub fn environment(folder: Option<&Path>) -> io::Result<Environment<'static>> {
    let mut environment = Environment::new();
    environment.set_auto_escape_callback(|name| {
        if name.contains(".html") {
            minijinja::AutoEscape::Html
        } else {
            minijinja::AutoEscape::None
        }
    });
    // A block tag's own line leaves nothing behind: tables stay one row per line.
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
        .map_err(|error| io::Error::other(error.to_string()))?;
    environment.set_syntax(syntax);
    // Numbers stay numbers in the context (compare.json's, say); templates format them.
    environment.add_filter("amount", |amount: Option<f64>, measure: String| {
        let measure = super::compare::Measure::from_name(&measure).ok();
        amount.zip(measure).map(|(amount, measure)| measure.show(amount)).unwrap_or_default()
    });
    environment.add_filter("percent", |change: Option<f64>| {
        change.map(super::compare::outcome::percent).unwrap_or_default()
    });
    for (name, source) in BUILT_IN {
        let source = match folder.map(|folder| folder.join(name)) {
            Some(path) if path.is_file() => std::fs::read_to_string(path)?,
            _ => source.to_owned(),
        };
        environment
            .add_template_owned(name, source)
            .map_err(|error| io::Error::other(format!("{name}: {error:#}")))?;
    }
    Ok(environment)
}
