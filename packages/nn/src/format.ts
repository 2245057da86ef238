export const fmt = (shape: readonly number[]): string => `[${shape.join(',')}]`;
