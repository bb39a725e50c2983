//! Weighted and simple random choices over the static data.

use rand::distr::weighted::WeightedIndex;
use rand::distr::Distribution;
use rand::Rng;

/// A list of items with a precomputed weighted sampler.
#[derive(Debug, Clone)]
pub(crate) struct Weighted<T: Copy> {
    items: Vec<T>,
    index: WeightedIndex<u32>,
}

impl<T: Copy> Weighted<T> {
    pub fn new(pairs: impl IntoIterator<Item = (T, u32)>) -> Self {
        let (items, weights): (Vec<T>, Vec<u32>) = pairs.into_iter().unzip();
        let index = WeightedIndex::new(weights).expect("weights are positive");
        Self { items, index }
    }

    pub fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> T {
        self.items[self.index.sample(rng)]
    }
}

pub(crate) fn one_of<'a, T, R: Rng + ?Sized>(rng: &mut R, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// A fictional mobile number from Ofcom's drama range 07700 900000-900999.
pub(crate) fn mobile<R: Rng + ?Sized>(rng: &mut R) -> String {
    format!("07700 900{:03}", rng.random_range(0..1000))
}

/// A fictional landline from Ofcom's drama range 01632 960000-960999.
pub(crate) fn landline<R: Rng + ?Sized>(rng: &mut R) -> String {
    format!("01632 960{:03}", rng.random_range(0..1000))
}

const POSTCODE_UNIT_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";

pub(crate) fn postcode<R: Rng + ?Sized>(rng: &mut R, area: &str, district: u8) -> String {
    let letter = |rng: &mut R| char::from(*one_of(rng, POSTCODE_UNIT_LETTERS));
    format!(
        "{area}{district} {}{}{}",
        rng.random_range(0..10),
        letter(rng),
        letter(rng)
    )
}

/// A short lower-case slug for e-mail domains: letters and digits joined by hyphens.
pub(crate) fn slug(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}
