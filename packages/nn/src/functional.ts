/** `nn.functional`: the functional ops of @llmts/tensor under PyTorch's `F.` names. */
export {
  softmax, logSoftmax, crossEntropy, layerNorm, gelu, dropout, embedding, relu, sigmoid, tanh, matmul,
} from '@llmts/tensor';
