//! Class labels as multi-hot bit rows, and the relevance rule every deep-hashing benchmark uses.

/// One multi-hot label row per item (single-label data is the one-hot special case).
///
/// Relevance between a query and a database item is "at least one shared label" (`y_qᵀ y_d > 0`,
/// ../shared/spec/methods.md §1.2). An all-zero row is relevant to nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Labels {
    classes: usize,
    words: usize,
    rows: Vec<u64>,
}

/// Errors building labels.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LabelError {
    #[error("row {row}: class {class} is out of range for {classes} classes")]
    OutOfRange {
        row: usize,
        class: usize,
        classes: usize,
    },
    #[error("row {row} has {got} values, expected {expected}")]
    Ragged {
        row: usize,
        got: usize,
        expected: usize,
    },
    #[error("row {row}: label values must be 0 or 1, got {value}")]
    NotBinary { row: usize, value: String },
}

impl Labels {
    /// Empty labels over `classes` classes.
    pub fn new(classes: usize) -> Self {
        Self {
            classes,
            words: classes.div_ceil(64).max(1),
            rows: Vec::new(),
        }
    }

    /// One class index per item.
    pub fn from_classes(classes: usize, items: &[usize]) -> Result<Self, LabelError> {
        let mut labels = Self::new(classes);
        for &c in items {
            labels.push_classes(&[c])?;
        }
        Ok(labels)
    }

    /// Multi-hot rows, each with `classes` entries of 0 or 1.
    pub fn from_multi_hot<R: AsRef<[u8]>>(classes: usize, rows: &[R]) -> Result<Self, LabelError> {
        let mut labels = Self::new(classes);
        for (row, values) in rows.iter().enumerate() {
            let values = values.as_ref();
            if values.len() != classes {
                return Err(LabelError::Ragged {
                    row,
                    got: values.len(),
                    expected: classes,
                });
            }
            let mut set = Vec::new();
            for (c, &v) in values.iter().enumerate() {
                match v {
                    0 => {}
                    1 => set.push(c),
                    v => {
                        return Err(LabelError::NotBinary {
                            row,
                            value: v.to_string(),
                        });
                    }
                }
            }
            labels.push_classes(&set)?;
        }
        Ok(labels)
    }

    /// Appends an item carrying the given classes (empty: an unlabelled item).
    pub fn push_classes(&mut self, set: &[usize]) -> Result<(), LabelError> {
        let start = self.rows.len();
        self.rows.resize(start + self.words, 0);
        for &c in set {
            if c >= self.classes {
                self.rows.truncate(start);
                return Err(LabelError::OutOfRange {
                    row: self.len(),
                    class: c,
                    classes: self.classes,
                });
            }
            self.rows[start + c / 64] |= 1 << (c % 64);
        }
        Ok(())
    }

    pub fn classes(&self) -> usize {
        self.classes
    }

    pub fn len(&self) -> usize {
        self.rows.len() / self.words
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub(crate) fn row(&self, i: usize) -> &[u64] {
        &self.rows[i * self.words..(i + 1) * self.words]
    }

    /// The classes of item `i`, ascending.
    pub fn classes_of(&self, i: usize) -> Vec<usize> {
        (0..self.classes)
            .filter(|&c| self.row(i)[c / 64] >> (c % 64) & 1 == 1)
            .collect()
    }

    /// Do items `a` of `self` and `b` of `other` share a class?
    pub fn relevant(&self, a: usize, other: &Labels, b: usize) -> bool {
        shares(self.row(a), other.row(b))
    }

    /// Items with no class at all (they can never be relevant to anything).
    pub fn unlabelled(&self) -> usize {
        (0..self.len())
            .filter(|&i| self.row(i).iter().all(|&w| w == 0))
            .count()
    }

    /// A new label set holding the rows at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Labels {
        let mut out = Labels::new(self.classes);
        for &i in indices {
            out.rows.extend_from_slice(self.row(i));
        }
        out
    }
}

#[inline]
pub(crate) fn shares(a: &[u64], b: &[u64]) -> bool {
    a.iter().zip(b).any(|(x, y)| x & y != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relevance_is_a_shared_class() {
        let q = Labels::from_multi_hot(3, &[[1u8, 0, 1], [0, 0, 0]]).unwrap();
        let d = Labels::from_classes(3, &[0, 1, 2]).unwrap();
        assert!(q.relevant(0, &d, 0));
        assert!(!q.relevant(0, &d, 1));
        assert!(q.relevant(0, &d, 2));
        assert!((0..3).all(|j| !q.relevant(1, &d, j)));
        assert_eq!(q.unlabelled(), 1);
        assert_eq!(q.classes_of(0), vec![0, 2]);
    }

    #[test]
    fn many_classes_span_words() {
        let a = Labels::from_classes(130, &[129, 64, 3]).unwrap();
        let b = Labels::from_classes(130, &[129]).unwrap();
        assert!(a.relevant(0, &b, 0));
        assert!(!a.relevant(1, &b, 0));
        assert_eq!(a.select(&[2, 0]).classes_of(1), vec![129]);
    }

    #[test]
    fn bad_rows_are_refused() {
        assert!(matches!(
            Labels::from_classes(3, &[3]),
            Err(LabelError::OutOfRange { class: 3, .. })
        ));
        assert!(matches!(
            Labels::from_multi_hot(3, &[[1u8, 0]]),
            Err(LabelError::Ragged { .. })
        ));
        assert!(matches!(
            Labels::from_multi_hot(2, &[[2u8, 0]]),
            Err(LabelError::NotBinary { .. })
        ));
    }
}
