//! Prices: the bundled table `models.toml` (with its `prices_as_of` date), the spec's
//! override, and the cost of one response.
//!
//! Cost = (uncached input × input price + cache reads × cached price + cache writes × input
//! price × 1.25 for Anthropic, × 1 otherwise + output × output price) / 1e6.

use std::sync::OnceLock;

use rein_spec::spec::{ModelSpec, PricingSource, Provider};
use serde::Deserialize;

pub use rein_spec::spec::Pricing;

use crate::Usage;

const BUNDLED_TABLE: &str = include_str!("models.toml");

/// Anthropic bills writes to the prompt cache (5-minute TTL) at 1.25 × the input price.
const ANTHROPIC_CACHE_WRITE_FACTOR: f64 = 1.25;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceTable {
    prices_as_of: String,
    model: Vec<PriceRow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceRow {
    name: String,
    input_per_mtok: f64,
    output_per_mtok: f64,
    cached_input_per_mtok: Option<f64>,
}

fn table() -> Option<&'static PriceTable> {
    static TABLE: OnceLock<Option<PriceTable>> = OnceLock::new();
    TABLE
        .get_or_init(|| toml::from_str(BUNDLED_TABLE).ok())
        .as_ref()
}

/// The date the bundled prices were checked, e.g. `2026-01-15`.
pub fn prices_as_of() -> &'static str {
    table().map_or("unknown", |table| table.prices_as_of.as_str())
}

/// The bundled price of a model: exact name, else the longest `prefix-` match (dated
/// variants).
pub fn bundled_price(model_name: &str) -> Option<Pricing> {
    let table = table()?;
    let row = table
        .model
        .iter()
        .find(|row| row.name == model_name)
        .or_else(|| {
            table
                .model
                .iter()
                .filter(|row| {
                    model_name
                        .strip_prefix(row.name.as_str())
                        .is_some_and(|rest| rest.starts_with('-'))
                })
                .max_by_key(|row| row.name.len())
        })?;
    Some(Pricing {
        input_per_mtok: row.input_per_mtok,
        output_per_mtok: row.output_per_mtok,
        cached_input_per_mtok: row.cached_input_per_mtok,
    })
}

/// The price of the spec's model: `spec.pricing`, else the bundled table. A `scripted`
/// model without `pricing` is free.
pub fn price_for(spec: &ModelSpec) -> Option<Pricing> {
    if let Some(pricing) = spec.pricing {
        return Some(pricing);
    }
    match spec.provider {
        Provider::Scripted => Some(Pricing {
            input_per_mtok: 0.0,
            output_per_mtok: 0.0,
            cached_input_per_mtok: None,
        }),
        Provider::Openai | Provider::Anthropic => bundled_price(&spec.name),
    }
}

/// How the spec's model is priced, for the run header, `rein check` and `run_started`:
/// `priced by --price: free`, `priced by [model.pricing]: $0.15/$0.60 per Mtok`,
/// `priced by the bundled table (prices as of 2026-01-15): $0.40/$1.60 per Mtok`,
/// `priced by the scripted provider: free`, or `unpriced`.
pub fn describe(spec: &ModelSpec) -> String {
    let by = |source: &str, pricing: &Pricing| format!("priced by {source}: {}", per_mtok(pricing));
    match (&spec.pricing, spec.pricing_source) {
        (Some(pricing), PricingSource::Flag) => by("--price", pricing),
        (Some(pricing), PricingSource::Spec) => by("[model.pricing]", pricing),
        (None, _) => match price_for(spec) {
            Some(pricing) if spec.provider == Provider::Scripted => {
                by("the scripted provider", &pricing)
            }
            Some(pricing) => by(
                &format!("the bundled table (prices as of {})", prices_as_of()),
                &pricing,
            ),
            None => "unpriced".to_owned(),
        },
    }
}

/// `free`, or `$IN/$OUT per Mtok` (and the cached input price when it is set).
fn per_mtok(pricing: &Pricing) -> String {
    let free = pricing.input_per_mtok == 0.0
        && pricing.output_per_mtok == 0.0
        && pricing.cached_input_per_mtok.is_none_or(|c| c == 0.0);
    if free {
        return "free".to_owned();
    }
    let mut text = format!(
        "{}/{} per Mtok",
        dollars(pricing.input_per_mtok),
        dollars(pricing.output_per_mtok)
    );
    if let Some(cached) = pricing.cached_input_per_mtok {
        text.push_str(&format!(", cached input {}", dollars(cached)));
    }
    text
}

/// `$0.15`, `$2.00`, `$0.075`: cents always shown, more digits when there are.
fn dollars(value: f64) -> String {
    let cents = format!("{value:.2}");
    if cents.parse::<f64>().is_ok_and(|c| c == value) {
        format!("${cents}")
    } else {
        format!("${value}")
    }
}

/// Cost in US dollars of `usage` at `pricing`. `usage.input_tokens` counts all input tokens,
/// cache reads and writes included.
pub fn cost_usd(pricing: &Pricing, provider: Provider, usage: &Usage) -> f64 {
    let uncached_input = usage
        .input_tokens
        .saturating_sub(usage.cache_read_tokens)
        .saturating_sub(usage.cache_write_tokens);
    let cached_price = pricing
        .cached_input_per_mtok
        .unwrap_or(pricing.input_per_mtok);
    let cache_write_factor = match provider {
        Provider::Anthropic => ANTHROPIC_CACHE_WRITE_FACTOR,
        Provider::Openai | Provider::Scripted => 1.0,
    };
    (uncached_input as f64 * pricing.input_per_mtok
        + usage.cache_read_tokens as f64 * cached_price
        + usage.cache_write_tokens as f64 * pricing.input_per_mtok * cache_write_factor
        + usage.output_tokens as f64 * pricing.output_per_mtok)
        / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_table_parses_and_is_dated() {
        let table = table().expect("models.toml parses");
        assert!(
            table.prices_as_of.starts_with("2026-"),
            "{}",
            table.prices_as_of
        );
        assert!(table.model.len() >= 9);
    }

    #[test]
    fn names_match_exactly_or_by_the_longest_dated_prefix() {
        assert_eq!(
            bundled_price("gpt-4.1").map(|p| p.input_per_mtok),
            Some(2.0)
        );
        assert_eq!(
            bundled_price("gpt-4.1-mini-2025-04-14").map(|p| p.input_per_mtok),
            Some(0.4)
        );
        assert_eq!(
            bundled_price("gpt-4o-2024-08-06").map(|p| p.input_per_mtok),
            Some(2.5)
        );
        assert_eq!(
            bundled_price("claude-sonnet-4-5-20250929").map(|p| p.output_per_mtok),
            Some(15.0)
        );
        assert_eq!(bundled_price("gpt-4.10"), None);
        assert_eq!(bundled_price("llama3.2"), None);
    }

    #[test]
    fn describe_names_the_source_and_the_prices() {
        let mut spec = ModelSpec {
            provider: Provider::Openai,
            name: "qwen2.5-coder".to_owned(),
            base_url: "http://127.0.0.1:1/v1".to_owned(),
            api_key: None,
            temperature: None,
            max_output_tokens: 100,
            stream: false,
            script: None,
            max_attempts: 1,
            request_timeout: std::time::Duration::from_secs(1),
            pricing: None,
            pricing_source: PricingSource::Spec,
        };
        assert_eq!(describe(&spec), "unpriced");
        spec.name = "gpt-4.1-mini".to_owned();
        assert_eq!(
            describe(&spec),
            format!(
                "priced by the bundled table (prices as of {}): $0.40/$1.60 per Mtok, cached input $0.10",
                prices_as_of()
            )
        );
        spec.pricing = Some(Pricing {
            input_per_mtok: 0.15,
            output_per_mtok: 0.6,
            cached_input_per_mtok: None,
        });
        assert_eq!(
            describe(&spec),
            "priced by [model.pricing]: $0.15/$0.60 per Mtok"
        );
        spec.pricing = Some(Pricing {
            input_per_mtok: 0.0,
            output_per_mtok: 0.0,
            cached_input_per_mtok: None,
        });
        spec.pricing_source = PricingSource::Flag;
        assert_eq!(describe(&spec), "priced by --price: free");
        spec.pricing = Some(Pricing {
            input_per_mtok: 0.075,
            output_per_mtok: 3.0,
            cached_input_per_mtok: None,
        });
        assert_eq!(describe(&spec), "priced by --price: $0.075/$3.00 per Mtok");
        spec.pricing = None;
        spec.provider = Provider::Scripted;
        assert_eq!(describe(&spec), "priced by the scripted provider: free");
    }

    #[test]
    fn cost_counts_cache_reads_and_writes() {
        let pricing = Pricing {
            input_per_mtok: 3.0,
            output_per_mtok: 15.0,
            cached_input_per_mtok: Some(0.3),
        };
        let usage = Usage {
            input_tokens: 1_000_000,
            output_tokens: 100_000,
            cache_read_tokens: 500_000,
            cache_write_tokens: 100_000,
        };
        // 400k uncached × 3 + 500k × 0.3 + 100k × 3 × 1.25 + 100k × 15, per million
        let anthropic = cost_usd(&pricing, Provider::Anthropic, &usage);
        assert!(
            (anthropic - (1.2 + 0.15 + 0.375 + 1.5)).abs() < 1e-9,
            "{anthropic}"
        );
        let openai = cost_usd(&pricing, Provider::Openai, &usage);
        assert!((openai - (1.2 + 0.15 + 0.3 + 1.5)).abs() < 1e-9, "{openai}");
    }
}
