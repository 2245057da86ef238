import { crossEntropy, type Tensor } from '@llmts/tensor';
import { Embedding, Module } from '@llmts/nn';

/**
 * The course's first language model: each token's logits for the next token are a row of one
 * embedding table. @example const m = new BigramLanguageModel(65); const { loss } = m.forward(x, y);
 */
export class BigramLanguageModel extends Module {
  tokenEmbeddingTable: Embedding;

  constructor(readonly vocabSize: number) {
    super();
    this.tokenEmbeddingTable = new Embedding(vocabSize, vocabSize);
  }

  /** idx (B, T) -> logits (B, T, V), and the loss when targets (B, T) are given. */
  forward(idx: Tensor, targets?: Tensor): { logits: Tensor; loss: Tensor | null } {
    const logits = this.tokenEmbeddingTable.forward(idx); // (B, T, V)
    if (!targets) return { logits, loss: null };
    const [B, T, V] = logits.shape as [number, number, number];
    return { logits, loss: crossEntropy(logits.view(B * T, V), targets.view(B * T)) };
  }
}
