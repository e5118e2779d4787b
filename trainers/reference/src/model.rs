//! Multinomial logistic (softmax) regression: `p = softmax(W·x + b)`, trained by
//! mini-batch SGD on cross-entropy. Small on purpose: a convex model trains the same way
//! every time, which keeps the reference trainer deterministic and its tests meaningful.

use serde::{Deserialize, Serialize};

use crate::dataset::ClassInfo;
use crate::rng::SplitMix64;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SoftmaxModel {
    /// Pixels per side of the (square) input image.
    pub image_size: u32,
    pub channels: usize,
    pub classes: Vec<ClassInfo>,
    /// Row-major `[classes, features]`: row `k` scores class `k`.
    pub weights: Vec<f64>,
    pub bias: Vec<f64>,
}

/// Mean cross-entropy and accuracy over a set of examples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    pub loss: f64,
    pub accuracy: f64,
}

/// Probability floor inside `ln`, so a confidently wrong prediction costs a lot, not ∞.
const MIN_PROBABILITY: f64 = 1e-12;

impl SoftmaxModel {
    /// All-zero parameters: the loss is convex, so no random start is needed, and every
    /// class starts equally likely (loss = ln K).
    pub fn new(classes: Vec<ClassInfo>, image_size: u32, channels: usize) -> Self {
        let features = channels * (image_size as usize) * (image_size as usize);
        Self {
            image_size,
            channels,
            weights: vec![0.0; classes.len() * features],
            bias: vec![0.0; classes.len()],
            classes,
        }
    }

    pub fn num_classes(&self) -> usize {
        self.classes.len()
    }

    pub fn input_len(&self) -> usize {
        self.channels * (self.image_size as usize) * (self.image_size as usize)
    }

    /// Checks that a deserialized model is usable (a checkpoint may come from anywhere).
    pub fn check(&self) -> Result<(), String> {
        let (classes, features) = (self.num_classes(), self.input_len());
        if classes == 0 || features == 0 {
            return Err("the model has no classes or no inputs".into());
        }
        if self.weights.len() != classes * features || self.bias.len() != classes {
            return Err(format!(
                "weights have {} values and bias {}, expected {} and {classes}",
                self.weights.len(),
                self.bias.len(),
                classes * features
            ));
        }
        if !self.weights.iter().chain(&self.bias).all(|v| v.is_finite()) {
            return Err("the model has non-finite parameters".into());
        }
        Ok(())
    }

    pub fn probabilities(&self, input: &[f64]) -> Vec<f64> {
        let features = self.input_len();
        let logits: Vec<f64> = self
            .weights
            .chunks_exact(features)
            .zip(&self.bias)
            .map(|(row, bias)| bias + dot(row, input))
            .collect();
        softmax(&logits)
    }

    /// One pass over the examples in a seeded random order; returns the running loss and
    /// accuracy (each example scored just before the update that uses it).
    pub fn train_epoch(
        &mut self,
        inputs: &[Vec<f64>],
        labels: &[usize],
        batch_size: usize,
        learning_rate: f64,
        rng: &mut SplitMix64,
    ) -> Scores {
        let mut order: Vec<usize> = (0..inputs.len()).collect();
        rng.shuffle(&mut order);
        let features = self.input_len();
        let classes = self.num_classes();
        let mut grad_w = vec![0.0; classes * features];
        let mut grad_b = vec![0.0; classes];
        let (mut loss, mut correct) = (0.0, 0usize);
        for batch in order.chunks(batch_size.max(1)) {
            grad_w.fill(0.0);
            grad_b.fill(0.0);
            for &index in batch {
                let (input, label) = (&inputs[index], labels[index]);
                let probabilities = self.probabilities(input);
                loss -= probabilities[label].max(MIN_PROBABILITY).ln();
                correct += usize::from(argmax(&probabilities) == label);
                // d(cross-entropy)/d(logit k) = p_k − [k = label].
                for (k, p) in probabilities.iter().enumerate() {
                    let error = p - f64::from(u8::from(k == label));
                    grad_b[k] += error;
                    for (g, x) in grad_w[k * features..(k + 1) * features]
                        .iter_mut()
                        .zip(input)
                    {
                        *g += error * x;
                    }
                }
            }
            let step = learning_rate / batch.len() as f64;
            for (w, g) in self.weights.iter_mut().zip(&grad_w) {
                *w -= step * g;
            }
            for (b, g) in self.bias.iter_mut().zip(&grad_b) {
                *b -= step * g;
            }
        }
        mean_scores(loss, correct, inputs.len())
    }

    pub fn evaluate(&self, inputs: &[Vec<f64>], labels: &[usize]) -> Scores {
        let (mut loss, mut correct) = (0.0, 0usize);
        for (input, &label) in inputs.iter().zip(labels) {
            let probabilities = self.probabilities(input);
            loss -= probabilities[label].max(MIN_PROBABILITY).ln();
            correct += usize::from(argmax(&probabilities) == label);
        }
        mean_scores(loss, correct, inputs.len())
    }
}

fn mean_scores(loss: f64, correct: usize, count: usize) -> Scores {
    if count == 0 {
        return Scores {
            loss: 0.0,
            accuracy: 0.0,
        };
    }
    Scores {
        loss: loss / count as f64,
        accuracy: correct as f64 / count as f64,
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Numerically stable: shifts by the largest logit before exponentiating.
pub fn softmax(logits: &[f64]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

/// Index of the largest value; the first one on ties.
pub fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (index, value) in values.iter().enumerate() {
        if *value > values[best] {
            best = index;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(count: u32) -> Vec<ClassInfo> {
        (0..count)
            .map(|id| ClassInfo {
                id,
                name: format!("c{id}"),
            })
            .collect()
    }

    /// Three classes, each bright in one channel plus seeded noise: linearly separable.
    fn separable(count: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<usize>) {
        let mut rng = SplitMix64::new(seed);
        let plane = 4 * 4;
        let mut inputs = Vec::new();
        let mut labels = Vec::new();
        for index in 0..count {
            let label = index % 3;
            let input: Vec<f64> = (0..3 * plane)
                .map(|i| {
                    let base = if i / plane == label { 0.8 } else { 0.2 };
                    base + (rng.below(1000) as f64 / 1000.0 - 0.5) * 0.3
                })
                .collect();
            inputs.push(input);
            labels.push(label);
        }
        (inputs, labels)
    }

    #[test]
    fn loss_decreases_and_separable_data_is_learned() {
        let (inputs, labels) = separable(60, 1);
        let mut model = SoftmaxModel::new(classes(3), 4, 3);
        let start = model.evaluate(&inputs, &labels);
        assert!((start.loss - 3f64.ln()).abs() < 1e-12, "zero model: ln K");
        let mut rng = SplitMix64::new(5);
        let mut losses = Vec::new();
        for _ in 0..15 {
            losses.push(model.train_epoch(&inputs, &labels, 8, 0.5, &mut rng).loss);
        }
        assert!(
            losses.windows(2).all(|pair| pair[1] < pair[0]),
            "{losses:?}"
        );
        let end = model.evaluate(&inputs, &labels);
        assert!(end.loss < start.loss / 4.0, "{end:?}");
        assert_eq!(end.accuracy, 1.0);
        let (held_out, held_labels) = separable(30, 2);
        assert_eq!(model.evaluate(&held_out, &held_labels).accuracy, 1.0);
        model.check().expect("consistent");
    }

    #[test]
    fn training_is_deterministic_for_a_seed() {
        let (inputs, labels) = separable(30, 3);
        let train = |seed| {
            let mut model = SoftmaxModel::new(classes(3), 4, 3);
            let mut rng = SplitMix64::new(seed);
            for _ in 0..3 {
                model.train_epoch(&inputs, &labels, 4, 0.3, &mut rng);
            }
            model
        };
        assert_eq!(train(11), train(11));
        assert_ne!(train(11), train(12), "the seed orders the batches");
    }

    #[test]
    fn softmax_sums_to_one_and_survives_large_logits() {
        let p = softmax(&[1000.0, 1001.0, -5.0]);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(argmax(&p), 1);
        assert_eq!(argmax(&[2.0, 2.0]), 0);
    }

    #[test]
    fn check_rejects_inconsistent_shapes() {
        let mut model = SoftmaxModel::new(classes(2), 4, 3);
        model.weights.pop();
        assert!(model.check().is_err());
        let mut model = SoftmaxModel::new(classes(2), 4, 3);
        model.bias[0] = f64::NAN;
        assert!(model.check().is_err());
    }
}
