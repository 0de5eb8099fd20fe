#version 330
// Pass 1, over the person mesh: warped photo (+ matte), generated image, visibility (DESIGN.md §4).
uniform sampler2D u_photo;        // photo crop at this scale: rgb + person matte in alpha
uniform sampler2D u_mirror;       // working grid: full-resolution pixel of each face pixel's mirror twin
uniform sampler2D u_mirror_aux;   // working grid: rgb = colour gain / 2, a = mirror weight
uniform float u_torn;             // 1 while drawing the triangles torn across a depth jump
uniform vec4 u_texture;           // full-resolution rectangle the photo crop covers: x0, y0, w, h
uniform float u_scale;            // output pixels per full-resolution pixel

in vec2 v_uv;
in vec2 v_work;
in vec2 v_src;
in float v_quality;
in float v_edit;

layout(location = 0) out vec4 out_warped;
layout(location = 1) out vec4 out_generated;
layout(location = 2) out vec4 out_visibility;

void main() {
    vec4 photo = texture(u_photo, v_uv);
    // Source pixels per output pixel (area); below ~0.5 the photo is being stretched over new ground.
    vec2 sx = dFdx(v_src) * u_scale;
    vec2 sy = dFdy(v_src) * u_scale;
    float density = abs(sx.x * sy.y - sx.y * sy.x);
    // Background caught in the triangles along the outline, and the outline's soft edge stretched by a
    // turn: never in front of the head's revealed side (the skirt behind, or the plate, shows there).
    // The skirt (quality < 0, the head's hidden side) is head wherever its colour comes from.
    if (v_quality < 0.0) photo.a = 1.0;
    else if (photo.a < 0.01 || (photo.a < 0.5 && density < 0.5)) discard;
    vec3 generated = photo.rgb;
    vec4 aux = texture(u_mirror_aux, v_work);
    if (aux.a > 0.002) {
        // The face completed from its mirror side: the twin pixel, colour-matched to this side's light.
        vec2 twin = texture(u_mirror, v_work).rg;
        vec3 mirrored = texture(u_photo, (twin + 0.5 - u_texture.xy) / u_texture.zw).rgb * aux.rgb * 2.0;
        generated = mix(photo.rgb, clamp(mirrored, 0.0, 1.0), aux.a);
    }
    float validity = smoothstep(0.2, 0.55, density) * (1.0 - u_torn);
    out_warped = photo;
    out_generated = vec4(generated, photo.a);
    out_visibility = vec4(validity * max(v_quality, 0.0), v_edit, 1.0, 1.0);
}
