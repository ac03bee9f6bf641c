import type { NextConfig } from "next";

// A static export: `npm run build` writes plain files to out/, which the service serves at `/`.
const nextConfig: NextConfig = {
  output: "export",
  images: { unoptimized: true },
  reactStrictMode: true,
  poweredByHeader: false,
  devIndicators: false,
};

export default nextConfig;
