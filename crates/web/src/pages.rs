//! Server-rendered pages, following the GOV.UK Design System's structure: they work without
//! JavaScript and with a keyboard and screen reader.

use axum::response::Html;

pub(crate) fn layout(title: &str, main: &str) -> Html<String> {
    Html(format!(
        r##"<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - ContactPoint</title>
<style>
body {{ font-family: Arial, sans-serif; margin: 0; color: #0b0c0c; line-height: 1.4; }}
.skip-link {{ position: absolute; left: -9999px; }}
.skip-link:focus {{ left: 1rem; top: 1rem; background: #fd0; padding: .5rem; }}
header {{ background: #0b0c0c; color: #fff; padding: .75rem 1rem; font-weight: bold; font-size: 1.2rem; }}
main {{ max-width: 960px; margin: 0 auto; padding: 1.5rem 1rem; }}
a:focus, button:focus, input:focus {{ outline: 3px solid #fd0; }}
</style>
</head>
<body>
<a href="#main" class="skip-link">Skip to main content</a>
<header role="banner">ContactPoint</header>
<main id="main" role="main">
{main}
</main>
</body>
</html>"##
    ))
}

pub(crate) async fn home() -> Html<String> {
    layout(
        "Find out who else is working with a child",
        r#"<h1>Find out who else is working with a child</h1>
<p>ContactPoint is the national directory of children in England and of the services and practitioners working with each of them. It holds contact details only, never case information.</p>
<p>Only vetted, trained practitioners in accredited organisations can use it. Every search and every view is recorded.</p>"#,
    )
}
