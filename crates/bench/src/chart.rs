//! The dispute cost curve as an image: gas against N, bisection against full re-execution.

use crate::{Error, Result, dispute::DisputeReport};
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Fonts tried for the PNG, in order; without one, the chart is written as SVG instead.
const FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

/// Draws the chart to `path` (PNG), or next to it as SVG if no font is available for the PNG.
/// Returns the file written.
pub fn draw(report: &DisputeReport, path: &Path) -> Result<PathBuf> {
    let font = FONTS.iter().find_map(|f| std::fs::read(f).ok());
    match font {
        Some(bytes) => {
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
                .map_err(|_| Error::Chart("cannot load the font".into()))?;
            let root = BitMapBackend::new(path, (960, 600)).into_drawing_area();
            plot(report, root)?;
            Ok(path.to_path_buf())
        }
        None => {
            let svg = path.with_extension("svg");
            let root = SVGBackend::new(&svg, (960, 600)).into_drawing_area();
            plot(report, root)?;
            Ok(svg)
        }
    }
}

fn plot<DB: DrawingBackend>(
    report: &DisputeReport,
    root: DrawingArea<DB, plotters::coord::Shift>,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: &dyn std::fmt::Display| Error::Chart(e.to_string());
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let bisection: Vec<(f64, f64)> = report
        .bisection
        .iter()
        .filter(|r| r.program == "counter")
        .map(|r| (f64::from(r.log2_steps), (r.total_gas as f64).log10()))
        .collect();
    let full: Vec<(f64, f64)> = report
        .full
        .iter()
        .map(|r| (f64::from(r.log2_steps), (r.gas as f64).log10()))
        .collect();
    let x_max = bisection
        .iter()
        .chain(&full)
        .map(|p| p.0)
        .fold(4.0, f64::max);
    let y_max = bisection
        .iter()
        .chain(&full)
        .map(|p| p.1)
        .fold(6.0, f64::max)
        .ceil();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Dispute cost: bisection (k = 16) vs full re-execution (counter program)",
            ("sans-serif", 22),
        )
        .margin(20)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(4.0..x_max, 4.0..y_max)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("N (steps)")
        .y_desc("total dispute gas")
        .x_label_formatter(&|x| format!("2^{x:.0}"))
        .y_label_formatter(&|y| format!("1e{y:.0}"))
        .draw()
        .map_err(|e| err(&e))?;
    chart
        .draw_series(LineSeries::new(bisection.clone(), BLUE.stroke_width(3)))
        .map_err(|e| err(&e))?
        .label("bisection (measured on Anvil)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(3)));
    chart
        .draw_series(bisection.iter().map(|p| Circle::new(*p, 4, BLUE.filled())))
        .map_err(|e| err(&e))?;
    chart
        .draw_series(LineSeries::new(full.clone(), RED.stroke_width(3)))
        .map_err(|e| err(&e))?
        .label("full re-execution (measured to 2^10, then extrapolated)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(3)));
    chart
        .draw_series(report.full.iter().filter(|r| r.measured).map(|r| {
            Circle::new(
                (f64::from(r.log2_steps), (r.gas as f64).log10()),
                4,
                RED.filled(),
            )
        }))
        .map_err(|e| err(&e))?;
    let block = (crate::dispute::BLOCK_GAS as f64).log10();
    chart
        .draw_series(LineSeries::new(
            vec![(4.0, block), (x_max, block)],
            BLACK.stroke_width(1),
        ))
        .map_err(|e| err(&e))?
        .label("one 30M-gas block")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(1)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
