/**
 * Types for the two `natural` modules acuerdo imports directly. The package root is never
 * imported: it loads database clients and runs dotenv (see docs/nlu.md).
 */

declare module 'natural/lib/natural/stemmers/porter_stemmer_es' {
  /** natural's Spanish Porter stemmer (a singleton instance). */
  const stemmer: {
    stem(token: string): string;
    tokenizeAndStem(text: string, keepStops?: boolean): string[];
  };
  export = stemmer;
}

declare module 'natural/lib/natural/stemmers/porter_stemmer' {
  /** natural's English Porter stemmer: what `restore()` falls back to without a stemmer. */
  const stemmer: {
    stem(token: string): string;
    tokenizeAndStem(text: string, keepStops?: boolean): string[];
  };
  export = stemmer;
}

declare module 'natural/lib/natural/classifiers/bayes_classifier' {
  interface NaturalStemmer {
    stem(token: string): string;
    tokenizeAndStem(text: string, keepStops?: boolean): string[];
  }

  /** apparatus' naive Bayes: per-label counts of documents containing each feature index. */
  interface ApparatusBayesClassifier {
    classFeatures: Record<string, Record<string, number>>;
    classTotals: Record<string, number>;
    totalExamples: number;
    smoothing: number;
  }

  class BayesClassifier {
    constructor(stemmer?: NaturalStemmer, smoothing?: number);
    classifier: ApparatusBayesClassifier;
    /** Feature → number of training documents containing it; key order is the feature index. */
    features: Record<string, number>;
    docs: { label: string; text: string[] }[];
    stemmer: NaturalStemmer;
    keepStops?: boolean;
    addDocument(text: string | string[], label: string): void;
    train(): void;
    classify(observation: string | string[]): string;
    getClassifications(observation: string | string[]): { label: string; value: number }[];
    setOptions(options: { keepStops?: boolean }): void;
    static restore(classifier: unknown, stemmer?: NaturalStemmer): BayesClassifier;
  }
  export = BayesClassifier;
}
