// The builder bundles an .svg imported from code as its text (asset/source).
declare module "*.svg" {
  const svgstr: string;
  export default svgstr;
}
