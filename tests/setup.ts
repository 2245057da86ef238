// Every suite sees the GPU when there is one (lavapipe in CI): init() opens it while LLMTS_DEVICE=cpu keeps the CPU the default.
import { init } from '@llmts/tensor';

await init();
