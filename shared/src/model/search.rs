//! Catalogue search (`GET /products?q=`, decision 73): the words of a
//! product and of a query, Unicode-normalised (NFKC, then full case
//! folding, by ICU4X), what a product's index holds, and how matches
//! rank. Pure.

use std::collections::BTreeMap;

use crate::foundation::error::Error;
use crate::model::products::ProductRecord;

/// Where a word was found in a product (a bit each): a product's posting
/// for a word holds all the places it has it.
pub const IN_NAME: u8 = 4;
pub const IN_CATEGORY: u8 = 2;
pub const IN_DESCRIPTION: u8 = 1;

/// The longest word indexed or searched (longer ones are cut there).
pub const MAX_WORD: usize = 40;
/// A query's most words.
pub const MAX_QUERY_WORDS: usize = 8;
/// A description's most distinct words indexed (its first ones).
pub const MAX_DESCRIPTION_WORDS: usize = 200;
/// The most matching products a search ranks: beyond them it ranks the
/// best matched and lowest ids (decision 73 says when a shop has outgrown
/// this index).
pub const MAX_CANDIDATES: usize = 1000;

/// The words of `text`: NFKC-normalised, case-folded, split at anything
/// that is not a letter or a digit; in order, each once.
pub fn words(text: &str) -> Vec<String> {
    let normalised = icu_normalizer::ComposingNormalizerBorrowed::new_nfkc().normalize(text);
    let folded = icu_casemap::CaseMapper::new()
        .fold_string(&normalised)
        .into_owned();
    let mut seen = Vec::new();
    for word in folded.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        let word: String = word.chars().take(MAX_WORD).collect();
        if !seen.contains(&word) {
            seen.push(word);
        }
    }
    seen
}

/// The index partition a word (or a prefix of one) is in: its first two
/// characters, so a prefix of two or more reads one partition.
pub fn bucket(word: &str) -> String {
    word.chars().take(2).collect()
}

/// What a product's index holds: each of its words and where it has it.
pub fn postings(product: &ProductRecord) -> BTreeMap<String, u8> {
    let mut found: BTreeMap<String, u8> = BTreeMap::new();
    for word in words(&product.name) {
        *found.entry(word).or_default() |= IN_NAME;
    }
    for word in words(product.category.as_str()) {
        *found.entry(word).or_default() |= IN_CATEGORY;
    }
    for word in words(&product.description)
        .into_iter()
        .take(MAX_DESCRIPTION_WORDS)
    {
        *found.entry(word).or_default() |= IN_DESCRIPTION;
    }
    found
}

/// What a product's change does to the index: the postings to write
/// (new, found in other places now, or all of them when the category they
/// carry changed) and the words to remove. A product deleted (or gone)
/// has none.
pub fn reindex(
    before: Option<&ProductRecord>,
    after: Option<&ProductRecord>,
) -> (BTreeMap<String, u8>, Vec<String>) {
    let live = |p: Option<&ProductRecord>| p.filter(|p| p.for_sale()).map(postings).unwrap_or_default();
    let (mut old, new) = (live(before), live(after));
    // Every posting carries the category it is filtered by.
    if before.map(|p| &p.category) != after.map(|p| &p.category) {
        old.retain(|word, _| !new.contains_key(word));
    }
    let removed = old.keys().filter(|w| !new.contains_key(*w)).cloned().collect();
    let written = new
        .into_iter()
        .filter(|(word, places)| old.get(word) != Some(places))
        .collect();
    (written, removed)
}

/// A search's words: every one must match; the last as a prefix too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub words: Vec<String>,
}

impl Query {
    /// `q`: at most 200 characters holding at most 8 words. One with no
    /// word (punctuation only) matches nothing.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        if raw.chars().count() > 200 {
            return Err(Error::invalid("q", "must be at most 200 characters"));
        }
        let words = words(raw);
        if words.len() > MAX_QUERY_WORDS {
            return Err(Error::invalid(
                "q",
                format!("must hold at most {MAX_QUERY_WORDS} words"),
            ));
        }
        Ok(Self { words })
    }

    /// The query as its cursors are bound to.
    pub fn scope(&self) -> String {
        self.words.join(" ")
    }
}

/// How well a product's places for one query word match: a word in the
/// name counts 4, in the category 2, in the description 1; a whole word
/// counts over a prefix of one (for the last query word) by one more.
pub fn word_score(places: u8, whole: bool) -> u32 {
    let place = if places & IN_NAME != 0 {
        4
    } else if places & IN_CATEGORY != 0 {
        2
    } else {
        u32::from(places & IN_DESCRIPTION != 0)
    };
    place * 2 + u32::from(whole)
}

/// One product matched by a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match<Id> {
    pub id: Id,
    pub score: u32,
    /// Units sold: the order among equal scores.
    pub sold: i64,
}

/// Best matches first, then the most sold, then by id.
pub fn rank<Id: Ord>(matches: &mut [Match<Id>]) {
    matches.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(b.sold.cmp(&a.sold))
            .then(a.id.cmp(&b.id))
    });
}

/// The products every word matched, with their scores: `found[i]` holds,
/// for query word `i`, each product it matched with its places and
/// whether the word matched whole (the last word may match a prefix of
/// several of a product's words: its best counts).
pub fn intersect<Id: Ord + Clone>(found: &[Vec<(Id, u8, bool)>]) -> Vec<(Id, u32)> {
    let mut per_word: Vec<BTreeMap<Id, u32>> = Vec::new();
    for matches in found {
        let mut best: BTreeMap<Id, u32> = BTreeMap::new();
        for (id, places, whole) in matches {
            let score = word_score(*places, *whole);
            let entry = best.entry(id.clone()).or_default();
            *entry = (*entry).max(score);
        }
        per_word.push(best);
    }
    let Some((first, rest)) = per_word.split_first() else {
        return Vec::new();
    };
    first
        .iter()
        .filter_map(|(id, score)| {
            let others: Option<u32> = rest.iter().map(|w| w.get(id).copied()).sum();
            Some((id.clone(), score + others?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::foundation::clock::Timestamp;
    use crate::foundation::input::parse_document;
    use crate::foundation::money::Currency;
    use crate::model::products::NewProduct;
    use crate::model::users::CountryCode;

    fn product(name: &str, category: &str, description: &str) -> ProductRecord {
        let input: NewProduct = parse_document(
            json!({"name": name, "category": category, "description": description, "price": 100, "stock": 1}),
        )
        .expect("valid");
        ProductRecord::new(
            &input,
            Currency::parse("EUR".into()).expect("EUR"),
            &CountryCode::strict("DE".into()).expect("DE"),
            Timestamp::from_unix(0),
        )
    }

    #[test]
    fn words_are_normalised_folded_and_split() {
        assert_eq!(words("Straße-Bahn  STRASSE"), ["strasse", "bahn"]);
        assert_eq!(words("ＦＵＬＬ width Ⅻ"), ["full", "width", "xii"]);
        assert_eq!(words("Crème brûlée, 2×"), ["crème", "brûlée", "2"]);
        assert_eq!(words("ΣΊΣΥΦΟΣ"), ["σίσυφοσ"]);
        assert!(words(" -- !! ").is_empty());
        assert_eq!(words(&"a".repeat(60))[0].len(), MAX_WORD);
    }

    #[test]
    fn a_products_postings_say_where_each_word_is() {
        let mug = product("Enamel Mug", "kitchen-mugs", "A mug of enamel, for the kitchen.");
        let postings = postings(&mug);
        assert_eq!(postings["mug"], IN_NAME | IN_DESCRIPTION);
        assert_eq!(postings["kitchen"], IN_CATEGORY | IN_DESCRIPTION);
        assert_eq!(postings["mugs"], IN_CATEGORY);
        assert_eq!(postings["of"], IN_DESCRIPTION);
        let renamed = ProductRecord {
            name: "Steel Mug".into(),
            ..mug.clone()
        };
        let (written, removed) = reindex(Some(&mug), Some(&renamed));
        assert_eq!(
            written.into_iter().collect::<Vec<_>>(),
            [
                ("enamel".to_owned(), IN_DESCRIPTION),
                ("steel".to_owned(), IN_NAME)
            ],
            "enamel now in the description only"
        );
        assert!(removed.is_empty(), "enamel is still in the description");
        let deleted = ProductRecord {
            deleted_at: Some(Timestamp::from_unix(1)),
            ..renamed.clone()
        };
        let (written, removed) = reindex(Some(&renamed), Some(&deleted));
        assert!(written.is_empty());
        assert_eq!(removed.len(), super::postings(&renamed).len(), "every word goes");
        assert_eq!(reindex(None, Some(&mug)).0, postings);
        let moved = ProductRecord {
            category: crate::model::products::Category::parse("dining".into()).expect("valid"),
            ..mug.clone()
        };
        let (written, removed) = reindex(Some(&mug), Some(&moved));
        assert_eq!(
            written,
            super::postings(&moved),
            "each posting carries the new category"
        );
        assert_eq!(removed, ["mugs"]);
    }

    #[test]
    fn queries_hold_one_to_eight_words() {
        assert_eq!(Query::parse("  Blue MUG ").expect("valid").words, ["blue", "mug"]);
        assert!(
            Query::parse(" !! ").expect("valid").words.is_empty(),
            "matches nothing"
        );
        for bad in ["a b c d e f g h i", &"x".repeat(201)] {
            assert!(Query::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_word_must_match_and_the_best_places_rank_first() {
        // "blue mu": blue whole, mu a prefix.
        let found = vec![
            vec![(1, IN_NAME, true), (2, IN_DESCRIPTION, true), (3, IN_NAME, true)],
            vec![
                (1, IN_DESCRIPTION, false),
                (2, IN_NAME, false),
                (2, IN_NAME, true),
                (4, IN_NAME, true),
            ],
        ];
        let mut matched: Vec<Match<i32>> = intersect(&found)
            .into_iter()
            .map(|(id, score)| Match { id, score, sold: 0 })
            .collect();
        rank(&mut matched);
        let order: Vec<(i32, u32)> = matched.iter().map(|m| (m.id, m.score)).collect();
        // 2: description (2+1) + name whole (8+1); 1: name (9) + description prefix (2).
        assert_eq!(order, [(2, 12), (1, 11)], "3 and 4 miss a word");
    }

    #[test]
    fn equal_matches_rank_by_units_sold_then_id() {
        let mut rng = fastrand::Rng::with_seed(73);
        for _ in 0..100 {
            let mut matches: Vec<Match<u32>> = (0..rng.u32(1..30))
                .map(|id| Match {
                    id,
                    score: rng.u32(0..3),
                    sold: rng.i64(0..4),
                })
                .collect();
            rank(&mut matches);
            for pair in matches.windows(2) {
                let (a, b) = (&pair[0], &pair[1]);
                assert!(
                    a.score > b.score
                        || (a.score == b.score && (a.sold > b.sold || (a.sold == b.sold && a.id < b.id))),
                    "{a:?} before {b:?}"
                );
            }
        }
    }
}
