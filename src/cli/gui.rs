//! `numasim gui`: the dashboard in a window (or a screenshot of it).

use super::GuiArgs;
use anyhow::Result;

#[cfg(feature = "ui")]
pub fn cmd_gui(scenario: &str, o: GuiArgs) -> Result<()> {
    use anyhow::{bail, Context};
    use numasim::model::scenario::Scenario;
    use numasim::ui::{native, Source};
    // A bad scenario is reported before any window opens.
    let source = match numasim::model::scenario::preset(scenario) {
        Some(_) => Source::Preset(scenario.to_string()),
        None => {
            let text = std::fs::read_to_string(scenario).with_context(|| {
                format!(
                    "reading scenario `{scenario}` (not a preset: {})",
                    super::preset_list()
                )
            })?;
            Scenario::parse(&text, scenario)?;
            Source::File {
                name: scenario.to_string(),
                text,
            }
        }
    };
    let tab = numasim::ui::tab_index(&o.tab).map_err(|e| anyhow::anyhow!("--tab: {e}"))?;
    if o.screenshot.is_none() && !native::display_available() {
        bail!("no display to open the dashboard on (DISPLAY is not set); try `numasim run`, or run under xvfb-run");
    }
    let r = native::run(native::GuiOptions {
        source,
        seed: o.seed,
        backend: o.backend,
        screenshot: o.screenshot.map(|p| (p, o.after_ticks)),
        size: o.size,
        paused: o.paused,
        exit_after: o.exit_after,
        tab,
    })
    .map_err(anyhow::Error::msg)?;
    if let Some(msg) = r {
        println!("{msg}");
    }
    Ok(())
}

#[cfg(not(feature = "ui"))]
pub fn cmd_gui(_scenario: &str, _o: GuiArgs) -> Result<()> {
    anyhow::bail!("this numasim was built without the `ui` feature")
}

/// Whether a window can open here.
#[cfg(feature = "ui")]
pub fn gui_possible() -> bool {
    numasim::ui::native::display_available()
}
#[cfg(not(feature = "ui"))]
pub fn gui_possible() -> bool {
    false
}
