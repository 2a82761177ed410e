/**
 * Scores whether one document change looks like an accepted AI completion, for providers that report
 * nothing. Pure; the collector feeds it facts. It cannot see which extension inserted the text, so it
 * only ever says "heuristic" with a confidence.
 */
export interface ChangeFacts {
  /** The change is exactly one content change inserting text at one place. */
  singleInsert: boolean;
  insertedChars: number;
  /** Inserted characters other than whitespace (Enter + auto-indent inserts none). */
  insertedNonWhitespace: number;
  insertedLines: number;
  /** Replaced characters (a completion may replace the typed prefix). */
  replacedChars: number;
  undoRedo: boolean;
  /** The inserted text equals the clipboard (a paste). */
  isPaste: boolean;
  /** Milliseconds since the previous typing change in this document (Infinity when none). */
  msSinceTyping: number;
  /** An extension known to provide AI completions is installed and active. */
  aiExtensionActive: boolean;
}

export interface Score {
  accepted: boolean;
  confidence: number;
  reasons: string[];
}

export const THRESHOLD = 0.6;

export function scoreChange(f: ChangeFacts): Score {
  const reasons: string[] = [];
  if (!f.singleInsert) return { accepted: false, confidence: 0, reasons: ['not a single insert'] };
  if (f.undoRedo) return { accepted: false, confidence: 0, reasons: ['undo/redo'] };
  if (f.isPaste) return { accepted: false, confidence: 0, reasons: ['paste'] };
  if (!f.aiExtensionActive) return { accepted: false, confidence: 0, reasons: ['no known AI extension active'] };
  if (f.insertedNonWhitespace < 8) return { accepted: false, confidence: 0, reasons: ['too little text to tell from typing (Enter, indentation, brackets)'] };
  let c = 0;
  if (f.insertedLines > 0) {
    c += 0.35;
    reasons.push('multi-line insert');
  }
  if (f.insertedChars >= 20) {
    c += 0.25;
    reasons.push('large insert');
  } else if (f.insertedChars >= 8) {
    c += 0.1;
    reasons.push('medium insert');
  }
  if (f.msSinceTyping <= 3000) {
    c += 0.2;
    reasons.push('right after typing');
  }
  c += 0.25;
  reasons.push('AI extension active');
  if (f.replacedChars > 0 && f.replacedChars < f.insertedChars) reasons.push('replaced the typed prefix');
  const confidence = Math.max(0, Math.min(0.95, Math.round(c * 100) / 100));
  return { accepted: confidence >= THRESHOLD, confidence, reasons };
}
