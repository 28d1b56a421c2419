import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{libs,services,tools}/*/{src,test}/**/*.test.ts'],
    globalSetup: ['./test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
