#version 330
// Pass 2, over the output window: visibility blend (3-band Laplacian pyramid from the mipmaps of pass 1),
// the person over the background plate, and the paste into the photo (DESIGN.md §4).
//
// A big full-resolution window is drawn in tiles (render/scene.py) by this program built with TILED
// defined: then pass 1's textures hold one tile (plus a guard band) and give the mip levels below u_split,
// and the levels at or above it come from the coarse textures, pass 1's level u_split over the whole
// window. Without TILED the coarse samplers are never read: software GL runs both sides of a branch on a
// uniform, so the one program for both read every level twice (a settled preview's pass 2 took ~40 ms more).
uniform sampler2D u_warped;      // pass 1, mipmapped: rgb, a = matte x coverage
uniform sampler2D u_generated;   // pass 1, mipmapped
uniform sampler2D u_visibility;  // pass 1, mipmapped: r = validity x quality, g = edit weight, b = coverage
uniform sampler2D u_coarse_warped;      // level u_split of the three over the whole window, mipmapped
uniform sampler2D u_coarse_generated;
uniform sampler2D u_coarse_visibility;
uniform float u_split;           // first mip level read from the coarse textures
uniform vec4 u_part;             // the part of the window this draw covers, window uv: x0, y0, w, h
uniform vec4 u_fine;             // window uv -> pass-1 texture uv: uv * zw + xy
uniform sampler2D u_photo;       // the photo crop at this scale (base pixels, fetched exactly)
uniform ivec2 u_photo_offset;    // photo texel of output pixel (0, 0)
uniform sampler2D u_plate;       // working grid: rgb = background plate, a = where the person was (grown)
uniform sampler2D u_edit_old;    // working grid: where the edit may touch the original photo (soft)
uniform vec4 u_window;           // output window in full-resolution pixels: x0, y0, w, h
uniform vec4 u_work;             // working grid rectangle, same units
uniform float u_blur_lod;        // mip level of the visibility blur (log2 of its radius in output pixels)
uniform float u_paste_lod;       // mip level of the paste-edge feather

in vec2 v_uv;
out vec4 out_colour;

vec2 uv;       // window uv of this pixel
vec2 fine_uv;  // the same point in pass 1's textures

vec4 sample_level(sampler2D fine, sampler2D coarse, float lod) {
#ifdef TILED
    if (lod >= u_split) return textureLod(coarse, uv, lod - u_split);
#endif
    return textureLod(fine, fine_uv, lod);
}

float visibility_alpha(float lod) {
    vec4 v = sample_level(u_visibility, u_coarse_visibility, lod);
    float seen = v.r / max(v.b, 1e-4);
    // Seen head-on up to ~65 deg counts fully; fades to nothing near pixels the warp never covered.
    return clamp((seen - 0.12) / 0.3, 0.0, 1.0) * smoothstep(0.8, 1.0, v.b);
}

// A pyramid level's colour, normalised by the mesh's coverage at that level. Where the level is (nearly)
// uncovered, just outside the drawn triangles, it falls back to the coarser level: an uncovered texel reads
// black, and the band-pass terms below would paint a dark line along the edge of the moving region.
vec3 level(sampler2D t, sampler2D coarse, float lod, vec3 coarser) {
    float cov = sample_level(u_visibility, u_coarse_visibility, lod).b;
    vec3 own = sample_level(t, coarse, lod).rgb / max(cov, 1e-4);
    return mix(coarser, own, clamp(cov * 4.0, 0.0, 1.0));
}

void main() {
    uv = u_part.xy + v_uv * u_part.zw;
    fine_uv = uv * u_fine.zw + u_fine.xy;
    vec2 full_px = u_window.xy + uv * u_window.zw;
    vec2 work_uv = (full_px - u_work.xy) / u_work.zw;
    vec3 base = texelFetch(u_photo, ivec2(gl_FragCoord.xy) + u_photo_offset, 0).rgb;

    float a0 = visibility_alpha(u_blur_lod);
    float a1 = visibility_alpha(u_blur_lod + 1.0);
    float a2 = visibility_alpha(u_blur_lod + 2.0);
    vec3 w2 = level(u_warped, u_coarse_warped, 3.0, base), g2 = level(u_generated, u_coarse_generated, 3.0, base);
    vec3 w1 = level(u_warped, u_coarse_warped, 1.5, w2), g1 = level(u_generated, u_coarse_generated, 1.5, g2);
    vec3 w0 = level(u_warped, u_coarse_warped, 0.0, w1), g0 = level(u_generated, u_coarse_generated, 0.0, g1);
    vec3 person = a0 * (w0 - w1) + (1.0 - a0) * (g0 - g1)
                + a1 * (w1 - w2) + (1.0 - a1) * (g1 - g2)
                + a2 * w2 + (1.0 - a2) * g2;
    person = clamp(person, 0.0, 1.0);

    float matte = sample_level(u_warped, u_coarse_warped, 0.5).a;
    vec4 plate = texture(u_plate, work_uv);
    vec3 background = mix(base, plate.rgb, plate.a);
    vec3 edited = mix(background, person, matte);

    float reach_new = sample_level(u_visibility, u_coarse_visibility, u_paste_lod).g;
    float reach_old = texture(u_edit_old, work_uv).r;
    float m = clamp(max(reach_new, reach_old) * 6.0, 0.0, 1.0);
    out_colour = vec4(m > 0.0 ? mix(base, edited, m) : base, m);
}
